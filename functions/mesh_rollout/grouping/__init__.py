"""Groups (issue 25): one execution moves several legs together, on one step schedule, with one approval per step
and all-or-nothing rollback.

The design the state machine is to follow (this package holds its domain pieces, plain functions):
- WeightShiftStateMachine becomes the group machine; today's single-route input is a group of one leg
  (inputs.one_leg), so one code path serves both. A leg is what one execution moves today: a weight shift on a
  route (VPC Lattice, ALB, App Mesh; its input is exactly a WeightShiftStateMachine input without the group's
  fields) or an ECS deployment (an EcsDeploymentStateMachine input without approval/dryRun/whenLocked).
- inputs.parse_group: the whole input checked before any AWS call, every problem at once, each at its field
  (legs[1].weightShift.canary); each leg by its own state machine's parse_spec. Limits from Step Functions'
  history (25,000 events) and payload (256 KiB) quotas and DynamoDB's 100 actions per transaction: see inputs.
  Once resolved, the legs' lock ids (shifting.plan's route lock id, deploying.service_lock's ecs:<service ARN>)
  go through inputs.check_distinct_locks (a route named two ways).
- At each group step: every leg moves (order.waves: a Map per wave, legs that wait for none together), then one
  barrier (the group's bakeSeconds after the longest settle), then every leg's gate is read; the step passes only
  when every leg passes. A weight-shift leg writes order.leg_targets' weights (its own scale, exact as a route
  alone is planned); an ECS leg is given only the percent (order.ecs_leg_targets) and reaches it through ECS.
- Any failure, rejection, timeout or stop rolls every leg back to its own snapshot, in order.rollback_waves.
- locks.acquire_all takes every leg's lock in one transaction (a refused group changes nothing and is told which
  locks and who holds them); locks.release_all frees them, with a release record each as lock.release leaves.
"""
