"""Groups (issue 25, docs/groups.md): one WeightShiftStateMachine execution moves several legs together, on one step
schedule, with one approval per step and all-or-nothing rollback.

A leg is what one execution moves alone: a route (VPC Lattice, ALB, App Mesh: a WeightShiftStateMachine input without
the group's fields) or an ECS service's own deployment (an EcsDeploymentStateMachine input). Every weight shift runs
the group's states, a route alone as the group of one leg it is; their Lambda functions act over every leg in one
call (an ECS leg through the ECS deployment's functions, with group actions), so a step costs the same states and
invocations whatever the number of legs (only the AWS calls grow). The modules, in the order a run uses them:

- inputs: the group's input checked whole, before any AWS call, every problem at its field (legs[1].weightShift...);
  the history and payload limits.
- plan: every leg planned as it would be alone (shifting.plan, deploying.plan) on the group's schedule; the waves
  (order) the legs move and roll back in; the releases; the ECS legs' pause timeouts and the locks' lifetime.
- locks: every leg's lock in one DynamoDB transaction, all or none; released the same way.
- releases: route legs that deploy a new image first, and its undoing.
- legs: snapshot, move (wave by wave), gate (every leg's; the worst wins), restore and finalize the route legs.
- ecs_legs: an ECS leg taken through ECS to its last pause at or below each step, finished, or rolled back.
- finish: the approval request (every leg's weights and verdict) and the outcome naming each leg.
- cleanup: a stopped group put back, wave by wave, by the status-change function.
- dry_run: each leg's own dry run, then the group's plan, read-only.

A route alone is a group of one leg (plan.route_alone): the same states, with a route's outputs and texts (`single`),
and its step mode (mode increment: a pre-step gate, no bake after the step, a halt after a rollback), which a group
of several legs refuses.
"""
