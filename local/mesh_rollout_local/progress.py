"""What a person following a run sees: one line per state with its item (ECS service, virtual node, route, canary
step) and the facts that matter (weights written, gate verdicts, deployment state, created/updated/unchanged),
read from the execution-history events as GetExecutionHistory returns them.

`Progress.lines` takes the events in order. A Task or Pass state is described when it exits (its result is known
then), a Map when its item count is, Wait, Parallel, Fail and Succeed states when entered; Choice states, which
change nothing, are left out. Events of executions the run started (`states:startExecution`, one per ECS service)
carry the key `executionArn`; `ExecutionsReader` reads them beside the parent's, and their lines are prefixed by
the execution's item, e.g. `[apps/serviceB]`.
"""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.history import HistoryReader, started_executions

ANNOUNCED_ON_ENTRY = ("WaitStateEntered", "ParallelStateEntered", "FailStateEntered", "SucceedStateEntered")
RESULTS = {"TaskSucceeded": "taskSucceededEventDetails", "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails"}
EXECUTION_ENDS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


def cause_message(cause: str | None) -> str:
    """The errorMessage of a Lambda error document, the error and cause of a nested execution's (what a
    startExecution.sync task fails with), or the cause as it is."""
    document = _json(cause)
    if isinstance(document, dict) and "errorMessage" in document:
        return str(document["errorMessage"])
    if isinstance(document, dict) and "Error" in document and "ExecutionArn" in document:
        return f"{document['Error']}: {cause_message(document.get('Cause'))}"
    return cause or ""


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None


def describe_weights(weights: Any) -> str:
    """{"serviceB": 50, "serviceBv2": 50} -> "serviceB 50 / serviceBv2 50"."""
    return " / ".join(f"{target} {weight}" for target, weight in weights.items()) if isinstance(weights, dict) else "?"


def short_revision(task_definition: Any) -> str:
    """A task definition ARN as its family:revision."""
    return str(task_definition).rsplit("/", 1)[-1]


def item_of(state_input: Any) -> str:
    """What a state works on, from its input: an ECS service, a mesh resource, a Lattice service or a canary step."""
    if not isinstance(state_input, dict):
        return ""
    target, request, step = state_input.get("target"), state_input.get("request"), state_input.get("step")
    if isinstance(target, dict) and target.get("service"):
        return f"{target.get('cluster', '?')}/{target['service']}"
    if isinstance(request, dict):
        if "routeName" in request:
            return f"route {request.get('virtualRouterName')}/{request['routeName']}"
        for key, kind in (("virtualNodeName", "node"), ("virtualRouterName", "router"), ("virtualServiceName", "service")):
            if key in request:
                return f"{kind} {request[key]}"
    if isinstance(state_input.get("service"), dict) and "name" in state_input["service"]:
        return f"service {state_input['service']['name']}"
    if isinstance(step, dict) and "percent" in step:
        return f"step {step['percent']}%"
    return ""


def task_facts(result: Any) -> str:
    """The facts of a task's result (a handler's output, or a nested execution's), by its shape; "" if unknown."""
    if not isinstance(result, dict):
        return ""
    if isinstance(result.get("Output"), dict | str):  # a nested execution (startExecution.sync:2): its output
        output = result["Output"]
        return pass_facts(_json(output) if isinstance(output, str) else output)
    if isinstance(result.get("verdict"), dict):  # the deployment gate
        verdict = result["verdict"]
        facts = f"deployment {verdict.get('state')}, {verdict.get('runningCount')}/{verdict.get('desiredCount')} tasks running"
        if verdict.get("state") not in ("IN_PROGRESS", "COMPLETED"):
            facts += f": {verdict.get('reason')}"
        return facts + (" (timed out)" if result.get("timedOut") else "")
    group = group_facts(result)
    if group is not None:  # a group's result: a headline here, a line per leg in group_lines
        return group
    if "state" in result and "summary" in result:  # the canary's health gate: its verdict and why
        return str(result["summary"]) + (f" (check {result['checks']})" if result.get("checks", 1) > 1 else "")
    if "route" in result and "steps" in result and "fromPercent" in result:
        return plan_facts(result)
    for shape, describe in SHAPES:
        if shape <= result.keys():
            return describe(result)
    if "meshName" in result and "virtualNodes" in result:  # the validated mesh rollout: what it will ensure
        return f"mesh {result['meshName']}: " + _parts(result, MESH_PARTS)
    if "serviceNetwork" in result and "targetGroups" in result:  # the planned move to VPC Lattice
        plan = "plan only, " if result.get("planOnly") else ""
        preflight = result.get("preflight") or {}  # what the account lacks: ingress the run adds, problems it refuses on
        lacks = [counted(len(preflight[k]), what) for k, what in PREFLIGHT_PARTS if preflight.get(k)]
        return (
            f"{plan}service network {result['serviceNetwork'].get('name')}: "
            + _parts(result, LATTICE_PARTS)
            + (f"; {', '.join(lacks)}" if lacks else "")
        )
    return ""


MESH_PARTS = (
    ("virtualNodes", "virtual node"),
    ("virtualRouters", "router"),
    ("routes", "route"),
    ("virtualServices", "virtual service"),
    ("ecsServices", "ECS service"),
)
LATTICE_PARTS = (("targetGroups", "target group"), ("services", "service"), ("ecsServices", "ECS service"))
PREFLIGHT_PARTS = (("securityGroupIngress", "missing ingress rule"), ("problems", "preflight problem"))


def counted(n: int, what: str) -> str:
    """3, "ECS service" -> "3 ECS services"."""
    return f"{n} {what}{'' if n == 1 else 's'}"


def _parts(result: dict[str, Any], parts: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(counted(len(result[key]), what) for key, what in parts if result.get(key))


def idle_facts(facts: str, plan: dict[str, Any]) -> str:
    """A plan with nothing to do: why (NOTHING_TO_DO, HALTED)."""
    idle = plan.get("idle") or {}
    return f"{facts}: {idle.get('status', 'NOTHING_TO_DO')}, {idle.get('reason', 'nothing to do')}"


def schedule_facts(plan: dict[str, Any]) -> str:
    """A plan's steps and the approvals before them (a route's or a group's)."""
    steps = [f"{s['percent']}%" for s in plan["steps"]]
    approvals = [f"{s['percent']}%" for s in plan["steps"] if s.get("approval")]
    return f"; steps {' -> '.join(steps) if steps else 'none'}" + (
        f", approval before {', '.join(approvals)}" if approvals else ""
    )


def plan_facts(plan: dict[str, Any]) -> str:
    """A weight shift's plan: the route as it is and the steps ahead (or why there are none)."""
    facts = f"route {plan['route'].get('label')} at {describe_weights(plan.get('plannedWeights'))}"
    if plan.get("nothingToDo"):
        return idle_facts(facts, plan)
    facts += schedule_facts(plan)
    release = plan.get("release")
    if release and "service" in release:  # a release: its image goes to the canary's service first, unless it runs it
        where = f"{release['cluster']}/{release['service']}"
        facts += f"; release to {where}" if release.get("pending") else f"; {where} already runs the release's images"
    return facts


def is_ecs_legs_read(result: dict[str, Any]) -> bool:
    """ReadEcsLegs', ReadEcsCompletion's or ReadEcsRollback's result (grouping.ecs_legs.EcsLegsRead): where each
    ECS leg of a group stands, and what the read loop does next."""
    legs = result.get("legs")
    return (
        {"state", "summary", "polls", "waitSeconds"} <= result.keys()
        and isinstance(legs, list)
        and all(isinstance(leg, dict) and "serviceDeploymentArn" in leg for leg in legs)
    )


def is_ecs_legs_answered(result: dict[str, Any]) -> bool:
    """StartEcsLegs', ContinueEcsLegs', ContinueEcsCompletion's or RollBackEcsLegs' result
    (grouping.ecs_legs.EcsLegsAnswered): a line per ECS leg it did something to, and when to read again."""
    return set(result) == {"done", "polls", "waitSeconds"} and isinstance(result["done"], list)


def ecs_leg_names(state_input: Any) -> dict[str, dict[str, str]]:
    """Each ECS leg's target group names (leg name -> rule_target_names of its plan), from the ECS legs a group's
    state is given (`ecsLegs`, or its wave's: `wave.ecsLegs`); {} without any."""
    if not isinstance(state_input, dict):
        return {}
    wave = state_input.get("wave")
    legs = state_input.get("ecsLegs") or (wave.get("ecsLegs") if isinstance(wave, dict) else None) or []
    if not isinstance(legs, list):
        return {}
    return {str(leg["name"]): rule_target_names(leg) for leg in legs if isinstance(leg, dict) and "name" in leg}


def short_deployments(text: str) -> str:
    """Service deployment ARNs in a line as their id (`arn:aws:ecs:...:service-deployment/apps/checkout/abc` ->
    `abc`), as the ECS deployment's own lines say them."""
    return re.sub(r"arn:aws[\w-]*:ecs:[^:]*:\d*:service-deployment/\S+/([\w-]+)", r"\1", text)


def is_group_plan(result: dict[str, Any]) -> bool:
    """PlanWeightShift's result for a group (grouping.plan.GroupPlan): the legs, their waves and the steps (a route
    alone's, the group of one leg it is, reads as a route's: plan_facts)."""
    return {"group", "legs", "waves", "steps"} <= result.keys() and isinstance(result["legs"], list) and not result.get("single")


def alone(result: dict[str, Any]) -> dict[str, Any] | None:
    """The one leg of a route alone's result (MoveLegs, CheckLegs, RestoreLegs: its record says `single`), else None."""
    legs = result.get("legs")
    if isinstance(legs, list) and len(legs) == 1 and isinstance(legs[0], dict) and legs[0].get("single"):
        return legs[0]
    return None


def route_facts(result: dict[str, Any], leg: dict[str, Any]) -> str:
    """A route alone's result, as a route's: the weights written, its gate's verdict, the weights restored."""
    if "changed" in leg:
        return _applied(leg)
    if "state" in result and "summary" in result:
        return str(result["summary"]) + (f" (check {result['checks']})" if result.get("checks", 1) > 1 else "")
    return leg_line(leg).split(": ", 1)[1]


def legs_of(result: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The legs of a group's result (each a dict with a name), None if it has none: the per-leg records of
    MoveLegs, CheckLegs, RestoreLegs; the weights by leg of FinishGroup as such records."""
    legs = result.get("legs")
    if isinstance(legs, list) and all(isinstance(leg, dict) and "name" in leg for leg in legs):
        return legs
    weights = result.get("weights")
    if "lockReleased" not in result or not isinstance(weights, dict) or not weights:
        return None
    if all(value is None or isinstance(value, dict) for value in weights.values()):  # FinishGroup: leg -> its weights
        return [{"name": name, "weights": value} for name, value in weights.items()]
    return None


def group_facts(result: dict[str, Any]) -> str | None:
    """The headline of a group's result (its plan, its gates' verdict, the legs moved, restored, where they ended);
    None if the result is not a group's."""
    if is_group_plan(result):
        return group_plan_facts(result)
    if result.get("single"):  # a route alone's plan: plan_facts
        return None
    leg = alone(result)
    if leg is not None:
        return route_facts(result, leg)
    if is_ecs_legs_read(result):
        return ecs_read_facts(result)
    if is_ecs_legs_answered(result):
        wait = f"; read again in {result['waitSeconds']} s" if result.get("waitSeconds") else ""
        return f"{counted(len(result['done']), 'ECS leg')}{wait}" if result["done"] else "no ECS leg to answer"
    if legs_of(result) is None:
        return None
    if "state" in result and "summary" in result:  # CheckLegs: the worst leg's
        return group_verdict_facts(result)
    return next((describe(result) for shape, describe in GROUP_SHAPES if shape <= result.keys()), None)


def group_plan_facts(plan: dict[str, Any]) -> str:
    """A group's plan: how many legs, the group's steps (or why there are none); group_lines says each leg's."""
    legs = len(plan["legs"]) + len(plan.get("ecsLegs") or [])
    facts = f"group {plan.get('group')}: {counted(legs, 'leg')}"
    if plan.get("nothingToDo"):
        return idle_facts(facts, plan)
    facts += schedule_facts(plan)
    waves = plan.get("waves") or []
    return facts + (f"; {counted(len(waves), 'wave')}" if len(waves) > 1 else "")


def leg_plan_line(leg: dict[str, Any]) -> str:
    """One leg of a group's plan: its route, the weights it is at and its canary's weight at each of the group's
    steps: `leg checkout after payments: route checkout/http-80/checkout at checkout 100 / checkoutv2 0; checkoutv2
    10 -> 50 -> 100`."""
    after = f" after {', '.join(leg['after'])}" if leg.get("after") else ""
    route = (leg.get("route") or {}).get("label", "?")
    line = f"leg {leg['name']}{after}: route {route} at {describe_weights(leg.get('plannedWeights'))}"
    canary, steps = leg.get("canary"), leg.get("steps") or []
    weights = [str((step.get("weights") or {}).get(canary, 0)) for step in steps]
    return line + (f"; {canary} {' -> '.join(weights)}" if weights else "; no steps")


def ecs_leg_plan_line(leg: dict[str, Any]) -> str:
    """One ECS leg of a group's plan: its service, ECS's strategy and the percent ECS holds it at for each of the
    group's steps (its last pause at or below the step): `leg checkout after payments: ECS service apps/checkout
    (LINEAR), held at 20 -> 60 -> 100`."""
    after = f" after {', '.join(leg['after'])}" if leg.get("after") else ""
    plan = leg.get("plan") or {}
    service = f"{plan.get('cluster', '?')}/{plan.get('service', '?')}"
    targets = [str(target) for target in leg.get("targets") or []]
    held = f"held at {' -> '.join(targets)}" if targets else "no steps"
    return f"leg {leg['name']}{after}: ECS service {service} ({plan.get('strategy', '?')}), {held}"


def ecs_read_facts(read: dict[str, Any]) -> str:
    """An ECS legs' read: what the loop does next (REACHED, CONTINUE, MOVING, FAILED with its error) and the legs
    that make it so; ecs_read_line says each leg's."""
    legs = [leg["name"] for leg in read["legs"] if leg.get("next") == read["state"]]
    error = f" ({read['error']})" if read.get("error") else ""
    named = "" if not legs else f": leg {legs[0]}" if len(legs) == 1 else f": legs {', '.join(legs)}"
    return f"{read['state']}{error}{named}"


def ecs_read_line(leg: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """One ECS leg as read: its deployment's state, the percent of production it is at (its pause's) and where the
    group's step holds it, then its production weights by target group name (and why it failed, if it did):
    `leg checkout: PAUSED at 20% (target 20%): checkout-blue 80, checkout-green 20`."""
    line = f"leg {leg['name']}: {leg.get('state', '?')} at {leg.get('percent', '?')}% (target {leg.get('target', '?')}%)"
    if leg.get("weights"):
        line += f": {ecs_weights(leg['weights'], names)}"
    return line + (f"; {leg['reason']}" if leg.get("reason") else "")


def group_verdict_facts(verdict: dict[str, Any]) -> str:
    """CheckLegs' verdict: every leg healthy, or the legs that are not (group_lines says each leg's why)."""
    check = f" (check {verdict['checks']})" if verdict.get("checks", 1) > 1 else ""
    if verdict.get("state") == "HEALTHY":
        return str(verdict["summary"]) + check
    legs = [leg["name"] for leg in verdict["legs"] if leg.get("state") == verdict.get("state")]
    named = f"leg {legs[0]}" if len(legs) == 1 else f"legs {', '.join(legs)}"
    return f"{verdict['state']}: {named}" + check


def _moved(r: dict[str, Any]) -> str:
    legs = r["legs"]
    if not legs:  # a wave of ECS legs only: they move through ECS (StartEcsLegs, ReadEcsLegs ...)
        return "no route leg in this wave"
    changed = sum(1 for leg in legs if leg.get("changed"))
    return f"wrote {counted(changed, 'leg')}" + (f", {len(legs) - changed} already there" if changed < len(legs) else "")


def _restored_legs(r: dict[str, Any]) -> str:
    restored = sum(1 for leg in r["legs"] if leg.get("restored"))
    there = sum(1 for leg in r["legs"] if not leg.get("restored") and not leg.get("problem"))  # never moved
    return f"{restored} of {counted(len(r['legs']), 'leg')} restored" + (f", {there} already there" if there else "")


def _group_finished(r: dict[str, Any]) -> str:
    why = f" ({r['error']})" if r.get("error") else ""
    return f"{r['status']}{why}, locks {_lock_said(r, 'not taken (another rollout holds one)')}"


def _finished(r: dict[str, Any]) -> str:
    """A route alone's FinishGroup: the outcome, and its lock."""
    return f"{r['status']}, lock {_lock_said(r, 'held by another rollout (none taken)')}"


def _lock_said(r: dict[str, Any], refused: str) -> str:
    """What became of the lock: released, or, when another rollout held it (RolloutInProgress), `refused`."""
    if r["lockReleased"]:
        return "released"
    return refused if r.get("error") == "RolloutInProgress" else "NOT released"


GROUP_SHAPES = (  # (keys a group's result has, its headline); only results with legs (legs_of)
    ({"percent", "legs"}, _moved),
    ({"restored", "legs"}, _restored_legs),
    ({"status", "lockReleased"}, _group_finished),
)


def leg_line(leg: dict[str, Any]) -> str:
    """One leg of a group's result, by the record's shape: moved (MoveLegs), judged (CheckLegs), restored
    (RestoreLegs) or where it ended (FinishGroup)."""
    name = f"leg {leg['name']}: "
    if "changed" in leg:
        return name + _applied(leg)
    if "state" in leg and "summary" in leg:
        return name + str(leg["summary"])  # the leg's gate: it starts with its state
    if "restored" in leg:
        if leg.get("problem"):
            return name + f"not restored: {leg['problem']}"
        return name + ("restored " if leg["restored"] else "already at ") + describe_weights(leg.get("weights"))
    weights = leg.get("weights")
    return name + (f"at {describe_weights(weights)}" if isinstance(weights, dict) else "weights not read")


def group_lines(result: Any, state_input: Any = None) -> list[str]:
    """The lines under a group's state, one per leg (PlanWeightShift, MoveLegs, CheckLegs, RestoreLegs,
    FinishGroup; the ECS legs' reads, their weights named from the plans in `state_input`) or per thing done
    (FinalizeLegs; StartEcsLegs, ContinueEcsLegs, RollBackEcsLegs); [] for any other result."""
    if not isinstance(result, dict) or alone(result) is not None:
        return []
    if is_group_plan(result):
        if result.get("nothingToDo"):
            return []
        return [leg_plan_line(leg) for leg in result["legs"]] + [ecs_leg_plan_line(leg) for leg in result.get("ecsLegs") or []]
    if is_ecs_legs_read(result):
        names = ecs_leg_names(state_input)
        return [ecs_read_line(leg, names.get(str(leg["name"]))) for leg in result["legs"]]
    if is_ecs_legs_answered(result):
        return [short_deployments(str(line)) for line in result["done"]]
    if set(result) in ({"done"}, {"done", "kept"}) and isinstance(result["done"], list):  # FinalizeLegs, UndoReleases
        return [str(line) for line in [*result["done"], *result.get("kept", [])]]
    if {"revisions", "pollSeconds"} <= set(result):  # RegisterReleases: each leg's revision
        return [
            f"leg {r['name']}: {short_revision(r['taskDefinition'])} (was {short_revision(r['previousTaskDefinition'])})"
            for r in result["revisions"]
        ]
    legs = legs_of(result)
    return [leg_line(leg) for leg in legs] if legs else []


def _answered(r: dict[str, Any]) -> str:
    """An approval's answer: approved or rejected, by whom, and their comment."""
    who = str(r.get("approver", "?")).split(":")[-1]
    return f"{'approved' if r['approved'] else 'rejected'} by {who}" + (f": {r['comment']}" if r.get("comment") else "")


def _applied(r: dict[str, Any]) -> str:
    return f"{'wrote' if r['changed'] else 'already at'} {describe_weights(r['weights'])}"


def _locks_taken(r: dict[str, Any]) -> str:
    """AcquireGroupLocks: a route alone's one lock by its label; a group's, how many (in one transaction)."""
    if len(r["lockIds"]) == 1:
        return f"lock {lock_label(r['lockIds'][0])} taken"
    return f"{counted(len(r['lockIds']), 'lock')} taken"


def _snapshotted(r: dict[str, Any]) -> str:
    """SnapshotLegs: a route alone's snapshot by its weights; a group's, how many legs."""
    snapshots = r["snapshots"]
    if r.get("single") and snapshots and isinstance(snapshots[0], dict):
        return f"route at {describe_weights(snapshots[0].get('weights'))}"
    return f"{counted(len(snapshots), 'leg')} snapshotted"


def _registered(r: dict[str, Any]) -> str:
    if r["registered"]:
        return f"registered {short_revision(r['taskDefinition'])} (was {short_revision(r.get('previousTaskDefinition'))})"
    return f"{short_revision(r['taskDefinition'])} {'to deploy' if r.get('needsUpdate') else 'already deployed'}"


def target_name(target: str) -> str:
    """A target group ARN as its name: `arn:...:targetgroup/checkout-blue/abc` -> `checkout-blue`; a VPC Lattice
    target group ARN (`...:targetgroup/tg-0abc`) as its id; anything else as it is."""
    if ":targetgroup/" not in target:
        return target
    parts = target.split(":targetgroup/", 1)[1].split("/")
    return parts[0]


def ecs_weights(weights: Any, names: dict[str, str] | None = None) -> str:
    """An ECS deployment's production weights by target group name, in name order:
    `checkout-blue 80, checkout-green 20`. `names` (ARN or id -> name, from the plan's production rule) names
    VPC Lattice target groups, whose ARNs hold no name."""
    if not isinstance(weights, dict) or not weights:
        return "weights not read"
    names = names or {}

    def name_of(target: str) -> str:
        return names.get(target) or names.get(target.rsplit("/", 1)[-1]) or target_name(target)

    return ", ".join(f"{name} {weight}" for name, weight in sorted((name_of(str(t)), w) for t, w in weights.items()))


def rule_target_names(state_input: Any) -> dict[str, str]:
    """ARN or id -> name of the target groups on an ECS deployment's production rule, from the plan a state is
    given (`plan.productionRule.targets`: name -> the ARN or id the rule uses); {} without one."""
    plan = state_input.get("plan") if isinstance(state_input, dict) else None
    rule = plan.get("productionRule") if isinstance(plan, dict) else None
    targets = rule.get("targets") if isinstance(rule, dict) else None
    if not isinstance(targets, dict):
        return {}
    named = {str(used): str(name) for name, used in targets.items()}
    return {**named, **{used.rsplit("/", 1)[-1]: name for used, name in named.items()}}


def _ecs_deployment(r: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """The `ecs` record of EcsDeploymentStateMachine (start, read, continue or roll back): the production weights
    and ECS's stage; the deployment's state when it is neither running nor paused; the decision taken (CONTINUE or
    ROLLBACK, answered with ContinueServiceDeployment)."""
    if not r.get("stage") and not r.get("weights"):
        return f"ECS deployment {str(r['serviceDeploymentArn']).rsplit('/', 1)[-1]} started"
    facts = f"{ecs_weights(r.get('weights'), names)} ({r.get('stage') or '?'})"
    if r.get("decision") and not r.get("polls"):  # EcsDecide's record (a read counts its polls from 1)
        return f"{r['decision']} at {facts}"
    if r.get("state") not in (None, "RUNNING", "PAUSED"):
        reason = r.get("statusReason") or ""
        facts += f": {r['state']}" + (f", {reason}" if reason else "")
    return facts


def lock_label(lock_id: str) -> str:
    """What a lock holds: `ecs:arn:aws:ecs:...:service/apps/checkout` (an ECS deployment's per-service lock) as
    `ecs:apps/checkout`; a route's lock id as it is."""
    if lock_id.startswith("ecs:") and ":service/" in lock_id:
        return "ecs:" + lock_id.split(":service/", 1)[1]
    return lock_id


def _ecs_finished(r: dict[str, Any]) -> str:
    """FinishEcsDeployment's result: the outcome and why, and the lock."""
    lock = "released" if r["lockReleased"] else "NOT released"
    why = str(r.get("cause") or r.get("error") or "no cause given").rstrip(".")
    return f"{r['outcome']}: {why}, lock {lock}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "none"


SHAPES = (  # (keys a result has, what to say); the first that fits
    ({"approved"}, _answered),
    ({"serviceDeploymentArn", "polls"}, _ecs_deployment),
    ({"outcome", "serviceDeploymentArn", "lockReleased"}, lambda r: _ecs_finished(r)),
    ({"percent", "weights", "changed"}, _applied),
    ({"restored", "weights"}, lambda r: ("restored " if r["restored"] else "already at ") + describe_weights(r["weights"])),
    ({"registered", "taskDefinition"}, _registered),
    (
        {"updated", "taskDefinition"},
        lambda r: f"{'deploying' if r['updated'] else 'already on'} {short_revision(r['taskDefinition'])}",
    ),
    ({"rolledBackTo"}, lambda r: f"rolled back to {short_revision(r['rolledBackTo'])}: {r.get('cause', '')}"),
    ({"lockId", "owner"}, lambda r: f"lock {lock_label(r['lockId'])} taken"),
    ({"lockIds", "owner"}, lambda r: _locks_taken(r)),
    ({"snapshots"}, lambda r: _snapshotted(r)),
    # a group's releases: the revisions registered, the canaries updated, their deployments read, undone
    ({"revisions", "pollSeconds"}, lambda r: f"{counted(len(r['revisions']), 'release revision')}"),
    (
        {"updated"},
        lambda r: (
            f"{counted(len(r['updated']), 'canary service')} updated" if r["updated"] else "every canary already on its release"
        ),
    ),
    ({"state", "checks", "summary"}, lambda r: f"{r['state']}: {r['summary']}"),
    ({"done", "kept"}, lambda r: f"{counted(len(r['done']), 'release')} undone, {counted(len(r['kept']), 'release')} kept"),
    ({"status", "lockReleased"}, lambda r: _finished(r)),
    ({"done", "weights"}, lambda r: "; ".join(r["done"]) or "nothing to finalize"),
    ({"done"}, lambda r: f"finalized {counted(len(r['done']), 'change')}" if r["done"] else "nothing to finalize"),
    ({"weights"}, lambda r: f"route at {describe_weights(r['weights'])}"),  # the snapshot taken before the first step
    ({"kind", "name", "action"}, lambda r: str(r["action"])),
    ({"changes"}, lambda r: "; ".join(r["changes"]) or "unchanged"),
    ({"failed", "services"}, lambda r: "ECS services: " + _counts(r["services"])),
    ({"Item"}, lambda r: "stop requested"),
)


def pass_facts(output: Any) -> str:
    """The facts of a Pass state's output (an outcome with its reason, an ECS service's), "" if none."""
    if not isinstance(output, dict):
        return ""
    if "status" in output and ("reason" in output or "summary" in output):
        reason = cause_message(output["reason"]) if "reason" in output else output["summary"]
        return f"{output['status']}: {reason}"
    if "action" in output and "taskDefinition" in output:
        facts = f"{output['action']}, {short_revision(output['taskDefinition'])}"
        deployment = output.get("deployment")
        return facts + (f", deployment {deployment.get('state')}" if isinstance(deployment, dict) else "")
    return ""


@dataclass
class _Execution:
    """What is known of one execution: the states it entered and which of them were described."""

    label: str = ""  # the item of a nested execution (its ECS service), the prefix of its lines
    entered: dict[int, dict[str, Any]] = field(default_factory=dict)  # id of a state's entry -> its details
    state_of: dict[int, int] = field(default_factory=dict)  # event id -> the id of the entry of the state it is in
    results: dict[int, Any] = field(default_factory=dict)
    announced: set[int] = field(default_factory=set)
    exited: set[int] = field(default_factory=set)
    last_said: str = ""  # the last line of a state other than a Wait (see Progress._unrepeated)
    last_wait: str = ""
    repeated: int = 0  # times last_said came again and was not printed


class Progress:
    """Lines for the events of a run and of the executions it started, fed in order (see the module's docstring).
    With `ends`, the end of the run is a line too (`== SUCCEEDED`); children's ends never are: the parent's state
    that started them says how they ended."""

    def __init__(self, ends: bool = False) -> None:
        self.ends = ends
        self._executions: dict[str | None, _Execution] = {}

    def lines(self, event: dict[str, Any]) -> list[str]:
        arn = event.get("executionArn")
        run = self._executions.setdefault(arn, _Execution())
        kind, event_id = event["type"], int(event["id"])
        details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        if kind == "ExecutionStarted" and arn is not None:
            run.label = item_of(_json(details.get("input")))
        entry = event_id if kind.endswith("StateEntered") else run.state_of.get(int(event.get("previousEventId") or 0))
        if entry is None:
            return self._end(run, arn, kind, details)
        if kind.endswith("StateExited") and run.entered.get(entry, {}).get("name") != details.get("name"):
            # a Map's or Parallel's exit follows its last branch's events: it is the open state of that name
            entry = next(
                (e for e in reversed(run.entered) if e not in run.exited and run.entered[e]["name"] == details.get("name")), entry
            )
        run.state_of[event_id] = entry
        if kind.endswith("StateEntered"):
            run.entered[entry] = {**details, "type": kind}
            if not run.label and arn is not None:
                run.label = item_of(_json(details.get("input")))
            return self._say(run, entry) if kind in ANNOUNCED_ON_ENTRY else []
        if kind in RESULTS:
            run.results[entry] = _json(details.get("output"))
            return []
        if kind == "MapStateStarted":
            return self._say(run, entry, counted(int(details.get("length", 0)), "item"))
        if kind.endswith("StateExited"):
            run.exited.add(entry)
            return self._exited(run, entry, details)
        if (kind.startswith(("Task", "LambdaFunction")) and kind.endswith(("Failed", "TimedOut"))) and details.get("error"):
            lines = self._say(run, entry)
            return [*lines, f"{self._prefix(run)}    ! {details['error']}: {cause_message(details.get('cause'))}"]
        return self._end(run, arn, kind, details)

    def _exited(self, run: _Execution, entry: int, details: dict[str, Any]) -> list[str]:
        state_type = run.entered.get(entry, {}).get("type", "")
        if state_type == "ChoiceStateEntered":
            return []
        result = run.results.get(entry)
        if isinstance(result, dict) and {"serviceDeploymentArn", "polls"} <= result.keys():  # ECS deployment
            facts = _ecs_deployment(result, rule_target_names(_json(run.entered.get(entry, {}).get("input"))))
        else:
            facts = task_facts(result) if entry in run.results else ""
        if not facts and state_type in ("PassStateEntered", "TaskStateEntered"):
            facts = pass_facts(_json(details.get("output")))
        state_input = _json(run.entered.get(entry, {}).get("input")) if entry in run.results else None
        under = [f"{self._prefix(run)}     {line}" for line in group_lines(result, state_input)] if entry in run.results else []
        if entry in run.announced:  # said already (a failure before a retry): only what came of it
            return [f"{self._prefix(run)}    then {facts}", *under] if facts else []
        said = self._say(run, entry, facts)
        return [*said, *under] if said else []  # a line not repeated (see _unrepeated): nor what it says per leg

    def _say(self, run: _Execution, entry: int, facts: str = "") -> list[str]:
        if entry in run.announced:
            return []
        run.announced.add(entry)
        state = run.entered.get(entry, {})
        item = item_of(_json(state.get("input")))
        parts = [state.get("name", "?"), "" if item == run.label else item, facts]
        return self._unrepeated(
            run, state.get("type") == "WaitStateEntered", f"{self._prefix(run)} -> " + "  ".join(p for p in parts if p)
        )

    def _unrepeated(self, run: _Execution, wait: bool, line: str) -> list[str]:
        """A loop that says the same again (an ECS deployment read while ECS still bakes: Wait, read, Wait, read ...)
        is said once, then counted: the line is not repeated, nor the Wait between repeats."""
        if wait:
            if run.repeated and line == run.last_wait:
                return []
            run.last_wait = line
            return [line]
        if line == run.last_said:
            run.repeated += 1
            return []
        said = [f"{self._prefix(run)}    ... and {counted(run.repeated, 'time')} more the same"] if run.repeated else []
        run.last_said, run.repeated = line, 0
        return [*said, line]

    @staticmethod
    def _prefix(run: _Execution) -> str:
        return f"  [{run.label}]" if run.label else " "

    def _end(self, run: _Execution, arn: str | None, kind: str, details: dict[str, Any]) -> list[str]:
        if not (self.ends and arn is None and kind in EXECUTION_ENDS):
            return []
        return [f"  == {kind.removeprefix('Execution').upper()}" + (f" {details['error']}" if details.get("error") else "")]


class ExecutionsReader:
    """The new events of an execution (read by its own HistoryReader) merged with those of the executions it starts,
    in the order they happened; a nested execution's events are copies with the key `executionArn`. Each nested
    execution is read, only for its new events, until it ends."""

    def __init__(self, sfn: Any) -> None:
        self.sfn = sfn
        self.nested: dict[str, HistoryReader] = {}
        self._ended: set[str] = set()

    def new_events(self, parent_events: list[dict[str, Any]], final: bool = False) -> list[dict[str, Any]]:
        """`parent_events` (what the execution's reader just read) with what the nested executions did meanwhile; `final` once the
        parent has ended: the nested executions' histories are then read to their end."""
        streams: list[list[dict[str, Any]]] = []
        self._start(parent_events)
        waiting = [arn for arn in self.nested if arn not in self._ended]
        while waiting:  # once final, those started by a nested execution are read in the same call
            arn = waiting.pop(0)
            reader = self.nested[arn]
            events = [{**event, "executionArn": arn} for event in (reader.finish() if final else reader.new_events())]
            if final or any(event["type"] in EXECUTION_ENDS for event in events):
                self._ended.add(arn)
            streams.append(events)
            started = self._start(events)
            waiting += started if final else []
        # on a tie the nested execution's event first: the parent's state that waited on it ends after it
        return list(heapq.merge(*streams, parent_events, key=lambda event: event["timestamp"]))

    def _start(self, events: list[dict[str, Any]]) -> list[str]:
        """Begin reading the executions these events started; return their ARNs."""
        started = [arn for arn in started_executions(events) if arn not in self.nested]
        for arn in started:
            self.nested[arn] = HistoryReader(self.sfn, arn)
        return started


IDLE = ("NOTHING_TO_DO", "HALTED", "SKIPPED_LOCKED")  # a weight shift's outcomes that changed nothing


def idle_reason(output: Any) -> str | None:
    """Why a run changed nothing (a weight shift's NOTHING_TO_DO, HALTED or SKIPPED_LOCKED), or None."""
    if not isinstance(output, dict) or output.get("status") not in IDLE:
        return None
    where = f"route {output['route']}" if output.get("route") else ""
    if isinstance(output.get("weights"), dict):
        where += f" at {describe_weights(output['weights'])}"
    return f"{output['status']}: {cause_message(output.get('reason')) or 'no reason given'}" + (f" ({where})" if where else "")


def describe_calls(total: int, changes: dict[str, int]) -> str:
    """How many AWS calls, and those that change something ("service:Operation" -> count) by service:
    "49, 15 changes (appmesh: 1 CreateMesh, 3 CreateVirtualNode; ecs: 3 UpdateService)"."""
    if not changes:
        return f"{total}, no changes"
    by_service: dict[str, list[str]] = {}
    for call, n in sorted(changes.items()):
        service, _, operation = call.partition(":")
        by_service.setdefault(service, []).append(f"{n} {operation}")
    listed = "; ".join(f"{service}: {', '.join(operations)}" for service, operations in by_service.items())
    return f"{total}, {counted(sum(changes.values()), 'change')} ({listed})"
