"""PlanWeightShift for a group: every leg planned as a route alone is (shifting.plan), then put on the group's
schedule, before anything changes (read-only).

Each weight-shift leg is planned from its own input with the group's steps and bakeSeconds (plan mode, no approval:
the group asks once per step), so the leg's route, targets, gate and finalize are checked and resolved exactly as a
WeightShiftStateMachine input alone. Its weights at each group step are order.leg_targets' (its own scale). A leg's
problem is raised at its place in the input (legs[1].weightShift.canary), in its own error class.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict, cast

from mesh_rollout.deploying.inputs import MAX_HOOK_TIMEOUT_MINUTES
from mesh_rollout.deploying.plan import HOOK_MARGIN_MINUTES, OUR_STAGES, EcsDeploymentPlan, plan_ecs_deployment
from mesh_rollout.errors import InvalidRolloutInput, MeshRolloutError
from mesh_rollout.grouping.ecs_legs import target_of
from mesh_rollout.grouping.inputs import (
    HISTORY_BUDGET,
    GroupLeg,
    GroupSpec,
    check_distinct_locks,
    history_events,
    history_problem,
    parse_group,
)
from mesh_rollout.grouping.order import leg_targets, waves
from mesh_rollout.shifting.plan import LOCK_MARGIN_SECONDS, WeightShiftPlan, plan_weight_shift
from mesh_rollout.traffic import Weights, route_for

# The plan's share of Step Functions' 256 KiB of a state's input or output
# (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html): the rest is for each leg's snapshot
# and the steps' results (`make bench`: 85.9 KiB for 25 legs, the plan about two thirds of it)
PLAN_BUDGET_BYTES = 160 * 1024


class LegStep(TypedDict):
    percent: int
    previous: Weights  # the leg's weights before the group's step (what its write checks the route still holds)
    weights: Weights  # after it


class LegPlan(TypedDict):
    """One leg as the group's states hand it to ShiftTraffic, CanaryHealth and FinalizeCanary."""

    name: str
    after: list[str]
    route: dict[str, Any]
    stable: str
    canary: str
    lockId: str
    plannedWeights: Weights
    fromPercent: int
    steps: list[LegStep]  # one per group step, in order
    healthGate: dict[str, Any]
    settleSeconds: int
    finalize: dict[str, Any]
    release: dict[str, Any]  # shifting.plan.ReleasePlan: pending, and the canary service's new images
    snapshot: NotRequired[dict[str, Any]]  # SnapshotLegs adds it
    # a route alone (route_alone): its texts name no leg; step mode's rollback sends the pool to stable; its
    # gate before a step-mode tick moves it
    single: NotRequired[bool]
    mode: NotRequired[str]
    preStepGate: NotRequired[dict[str, Any]]


class EcsLegPlan(TypedDict):
    """An ECS-native leg: its deployment's plan (deploying.plan) and the percent ECS holds it at after each group step."""

    name: str
    after: list[str]
    lockId: str
    plan: EcsDeploymentPlan
    targets: list[int | float]


class MoveWave(TypedDict):
    """One wave: its route legs (indexes into legs, in ShiftTraffic's waves' shape) and its ECS legs (into ecsLegs)."""

    routes: list[list[int]]
    ecs: list[int]


class GroupStep(TypedDict):
    index: int
    percent: int
    previous: int  # the step before's percent (0 before the first): where the legs are when this step's approval asks
    approval: bool
    gateAfter: bool  # baked and gated after it (False: a step-mode tick, gated before it moved: GateFirst)


class GroupPlan(TypedDict):
    """The group's state after PlanWeightShift: the legs, the order they move and roll back in, the schedule."""

    group: str  # the legs' names, for the console and the notifications
    legs: list[LegPlan]  # the route legs
    ecsLegs: list[EcsLegPlan]  # the ECS-native legs
    waves: list[list[int]]  # the route legs' indexes, wave by wave: each wave moves after the one before
    moveWaves: list[MoveWave]  # every leg, wave by wave (an ECS leg's wave waits until ECS has reached the step)
    rollbackOrder: list[MoveWave]  # the waves a rollback goes through: the last first
    releases: list[dict[str, Any]]  # the route legs that deploy a new image first: {name, lockId, release}
    steps: list[GroupStep]
    bakeSeconds: int
    waitSeconds: int  # the longest settle of any leg, then the bake
    approvalTimeoutSeconds: int
    whenLocked: str
    lockIds: list[str]
    lockSeconds: int
    finalizePending: bool
    nothingToDo: bool
    idle: dict[str, Any]  # NOTHING_TO_DO or HALTED: the execution's output as it is
    single: bool  # a route alone (route_alone): the outputs and texts are a route's, not a group's
    gateFirst: bool  # step mode: every leg's pre-step gate before the step (PreStepGate)
    # a route alone's own fields, which its outputs, FinishGroup and the CLI read
    route: NotRequired[dict[str, Any]]
    lockId: NotRequired[str]
    mode: NotRequired[str]
    stable: NotRequired[str]
    canary: NotRequired[str]
    fromPercent: NotRequired[int]
    plannedWeights: NotRequired[Weights]
    release: NotRequired[dict[str, Any]]


def route_alone(plan: WeightShiftPlan) -> GroupPlan:
    """A plain WeightShiftStateMachine input (no `legs`) as the group of one leg it is, planned as a route alone is
    (shifting.plan: its own steps, from where the route is; step mode; its halt), so it runs the group's states with
    its own outputs and texts (`single`)."""
    label = plan["route"]["label"]
    leg: LegPlan = {
        "name": label,
        "after": [],
        "route": plan["route"],
        "stable": plan["stable"],
        "canary": plan["canary"],
        "lockId": plan["lockId"],
        "plannedWeights": plan["plannedWeights"],
        "fromPercent": plan["fromPercent"],
        "steps": [{"percent": s["percent"], "previous": s["previous"], "weights": s["weights"]} for s in plan["steps"]],
        "healthGate": plan["healthGate"],
        "settleSeconds": plan["waitSeconds"] - plan["bakeSeconds"],
        "finalize": dict(plan["finalize"]),
        "release": dict(plan["release"]),
        "single": True,
        "mode": plan["mode"],
        "preStepGate": plan["preStepGate"],
    }
    steps: list[GroupStep] = []
    previous = plan["fromPercent"]
    for index, step in enumerate(plan["steps"]):
        steps.append(
            {
                "index": index,
                "percent": step["percent"],
                "previous": previous,
                "approval": bool(step["approval"]),
                "gateAfter": bool(step["gateAfter"]),
            }
        )
        previous = step["percent"]
    wave: MoveWave = {"routes": [[0]], "ecs": []}
    release = plan["release"]
    return {
        "group": label,
        "legs": [leg],
        "ecsLegs": [],
        "waves": [[0]],
        "moveWaves": [wave],
        "rollbackOrder": [wave],
        "releases": [{"name": label, "lockId": plan["lockId"], "release": release, "single": True}] if release["pending"] else [],
        "steps": steps,
        "bakeSeconds": plan["bakeSeconds"],
        "waitSeconds": plan["waitSeconds"],
        "approvalTimeoutSeconds": plan["approvalTimeoutSeconds"],
        "whenLocked": plan["whenLocked"],
        "lockIds": [plan["lockId"]],
        "lockSeconds": plan["lockSeconds"],
        "finalizePending": bool(plan["finalize"]["pending"]),
        "nothingToDo": plan["nothingToDo"],
        "idle": {**plan["idle"], "route": label, "weights": plan["plannedWeights"], "canaryPercent": plan["fromPercent"]},
        "single": True,
        "gateFirst": plan["gateFirst"],
        "route": plan["route"],
        "lockId": plan["lockId"],
        "mode": plan["mode"],
        "stable": plan["stable"],
        "canary": plan["canary"],
        "fromPercent": plan["fromPercent"],
        "plannedWeights": plan["plannedWeights"],
        "release": dict(release),
    }


def leg_input(leg: GroupLeg, raw: dict[str, Any], group: GroupSpec) -> dict[str, Any]:
    """The WeightShiftStateMachine input the leg would be alone: its own fields and the group's schedule."""
    own = raw["legs"][position(leg)]["weightShift"]
    return {**own, "steps": list(group.steps), "bakeSeconds": group.bakeSeconds, "mode": "plan"}


def at_leg(exc: MeshRolloutError, leg: GroupLeg) -> MeshRolloutError:
    """The leg's error at its place in the group's input, in its own class."""
    if isinstance(exc, InvalidRolloutInput):
        problems = [(f"{leg.field}.{field}" if field != "(input)" else leg.field, problem) for field, problem in exc.problems]
        return type(exc)(*problems[0], *problems[1:])
    return type(exc)(f"leg {leg.name!r}: {exc}")


def plan_leg(leg: GroupLeg, raw: dict[str, Any], group: GroupSpec, plan_route: Callable[[Any], WeightShiftPlan]) -> LegPlan:
    """One weight-shift leg on the group's steps (its release, if any, deployed before the group's first step)."""
    own = leg_input(leg, raw, group)
    try:
        plan = plan_route(own)
    except MeshRolloutError as exc:
        raise at_leg(exc, leg) from exc
    route = route_for(plan["route"])
    current = plan["plannedWeights"]
    targets = leg_targets(current, plan["stable"], plan["canary"], list(group.steps), route.scale)
    steps: list[LegStep] = []
    previous = current
    for percent in group.steps:
        steps.append({"percent": percent, "previous": previous, "weights": targets[percent]})
        previous = targets[percent]
    return {
        "name": leg.name,
        "after": list(leg.after),
        "route": plan["route"],
        "stable": plan["stable"],
        "canary": plan["canary"],
        "lockId": plan["lockId"],
        "plannedWeights": current,
        "fromPercent": plan["fromPercent"],
        "steps": steps,
        "healthGate": plan["healthGate"],
        "settleSeconds": plan["waitSeconds"] - plan["bakeSeconds"],
        "finalize": dict(plan["finalize"]),
        "release": dict(plan["release"]),
    }


def plan_ecs_leg(
    leg: GroupLeg, raw: dict[str, Any], group: GroupSpec, plan_ecs: Callable[[Any], EcsDeploymentPlan]
) -> EcsLegPlan:
    """One ECS-native leg: planned as the EcsDeploymentStateMachine plans it alone (its PAUSE hook outlasting the
    group's approval wait), held at each group step at ECS's last step at or below it (ecs_legs.target_of)."""
    own = ecs_leg_input(leg, raw, group)
    try:
        plan = plan_ecs(own)
    except MeshRolloutError as exc:
        raise at_leg(exc, leg) from exc
    return {
        "name": leg.name,
        "after": list(leg.after),
        "lockId": plan["lockId"],
        "plan": plan,
        "targets": [target_of(plan, percent) for percent in group.steps],
    }


def ecs_leg_input(leg: GroupLeg, raw: dict[str, Any], group: GroupSpec) -> dict[str, Any]:
    """The EcsDeploymentStateMachine input the ECS leg would be alone: its own fields, and the group's approval wait
    (only its PAUSE hook's timeout reads it: the group asks, at 100% at the latest)."""
    own = dict(raw["legs"][position(leg)]["ecsDeployment"])
    if group.approval is not None:
        own["approval"] = {"beforeSteps": [100], "timeoutSeconds": group.approval.timeoutSeconds}
    return own


def fit_hook_timeouts(spec: GroupSpec, raw: dict[str, Any], legs: list[LegPlan], ecs_legs: list[EcsLegPlan]) -> None:
    """Each ECS leg's PAUSE hook outlasts the longest the group may hold it at one pause: the approval wait, the
    barrier (the longest settle of a route leg, then the bake), every gate's re-checks, and every ECS leg of the
    group moving one after another to the step (each of ECS's steps it passes through: its bake and settle). A
    hook the leg's input times itself (hookTimeoutMinutes) shorter than that is refused at its field; else our
    hook's timeout is raised to it (ECS rolls a deployment back when a pause times out:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html)."""
    if not ecs_legs:
        return
    gates = [_pending_seconds(leg) for leg in legs] + [
        int(leg["plan"]["healthGate"].get("recheckSeconds", 0)) * int(leg["plan"]["healthGate"].get("maxPendingChecks", 0))
        for leg in ecs_legs
    ]
    held = (spec.approval.timeoutSeconds if spec.approval else 0) + spec.bakeSeconds + max(gates, default=0)
    held += max((leg["settleSeconds"] for leg in legs), default=0)
    held += sum(
        ecs_steps_per_group_step(leg) * (int(leg["plan"]["bakeSeconds"]["step"]) + int(leg["plan"]["settleSeconds"]))
        for leg in ecs_legs
    )
    minutes = -(-held // 60) + HOOK_MARGIN_MINUTES
    by_name = {leg.name: leg for leg in spec.legs}
    for leg in ecs_legs:
        plan, field = leg["plan"], f"{by_name[leg['name']].field}.hookTimeoutMinutes"
        given = raw["legs"][position(by_name[leg["name"]])]["ecsDeployment"].get("hookTimeoutMinutes")
        if minutes > MAX_HOOK_TIMEOUT_MINUTES or (given is not None and given < minutes):
            raise InvalidRolloutInput(
                field,
                f"the group may hold this leg at one pause for {minutes} minutes (its approval wait, bake, gates"
                f" and ECS legs), longer than {given or MAX_HOOK_TIMEOUT_MINUTES}: shorten those, or give more",
            )
        if int(plan["hookTimeoutMinutes"]) < minutes:
            plan["hookTimeoutMinutes"] = minutes
            plan["deploymentConfiguration"] = with_hook_timeout(plan["deploymentConfiguration"], minutes)


def ecs_steps_per_group_step(leg: EcsLegPlan) -> int:
    """The most of ECS's own steps the leg passes through to reach one group step (each baked before the next)."""
    counts, before = [], -1.0
    for target in leg["targets"]:
        counts.append(sum(1 for step in leg["plan"]["steps"] if before < step <= target))
        before = float(target)
    return max(counts, default=1) or 1


def with_hook_timeout(config: dict[str, Any], minutes: int) -> dict[str, Any]:
    """The configuration with our PAUSE hook's timeout (deploying.plan.pause_hook) at least `minutes`."""
    hooks = []
    for hook in config.get("lifecycleHooks", []):
        ours = hook.get("targetType") == "PAUSE" and set(hook.get("lifecycleStages", [])) == set(OUR_STAGES)
        timeout = hook.get("timeoutConfiguration", {})
        if ours and int(timeout.get("timeoutInMinutes", 0)) < minutes:
            hook = {**hook, "timeoutConfiguration": {**timeout, "timeoutInMinutes": minutes}}
        hooks.append(hook)
    return {**config, "lifecycleHooks": hooks}


def position(leg: GroupLeg) -> int:
    """The leg's index in the input's legs."""
    return int(leg.field.split("[")[1].split("]")[0])


def plan_group(
    raw: Any,
    cloudwatch: Any,
    ecs: Any,
    clusters: str = "*",
    plan_route: Callable[[Any], WeightShiftPlan] | None = None,
    plan_ecs: Callable[[Any], EcsDeploymentPlan] | None = None,
) -> GroupPlan:
    """Check the whole group (its input, then every leg's route, targets, gate and services, read-only) and plan it."""
    spec = parse_group(raw)
    if spec.mode != "plan":
        raise InvalidRolloutInput("mode", "a group moves in plan mode (every step in one execution)")
    plan_route = plan_route or (lambda own: plan_weight_shift(own, cloudwatch, ecs, clusters=clusters))
    plan_ecs = plan_ecs or (lambda own: plan_ecs_deployment(own, ecs, cloudwatch, clusters))
    routes = [leg for leg in spec.legs if leg.kind == "weightShift"]
    services = [leg for leg in spec.legs if leg.kind == "ecsDeployment"]
    refused: list[InvalidRolloutInput] = []  # every leg's input problems, at once (other errors raised as they come)
    legs: list[LegPlan] = []
    ecs_legs: list[EcsLegPlan] = []
    for leg in routes:
        try:
            legs.append(plan_leg(leg, raw, spec, plan_route))
        except InvalidRolloutInput as exc:
            refused.append(exc)
    for leg in services:
        try:
            ecs_legs.append(plan_ecs_leg(leg, raw, spec, plan_ecs))
        except InvalidRolloutInput as exc:
            refused.append(exc)
    if len(refused) == 1:
        raise refused[0]  # in its own class (UnknownReference, EcsServiceNotFound, ...)
    if refused:
        raise InvalidRolloutInput.of([problem for exc in refused for problem in exc.problems])
    fit_hook_timeouts(spec, raw, legs, ecs_legs)
    planned = {leg["name"]: leg["lockId"] for leg in [*legs, *ecs_legs]}
    check_distinct_locks([(leg, planned[leg.name]) for leg in spec.legs])
    route_index = {leg["name"]: i for i, leg in enumerate(legs)}
    ecs_by_name = {leg["name"]: leg for leg in ecs_legs}
    ecs_index = {leg["name"]: i for i, leg in enumerate(ecs_legs)}
    order = waves(spec.after)
    moving_waves: list[MoveWave] = [
        {
            "routes": [[route_index[name] for name in wave if name in route_index]],
            "ecs": [ecs_index[name] for name in wave if name in ecs_index],
        }
        for wave in order
    ]
    check_history(spec, order, [[ecs_by_name[name] for name in wave if name in ecs_by_name] for wave in order], legs)
    approvals = set(spec.approval.beforeSteps) if spec.approval else set()
    steps: list[GroupStep] = [
        {
            "index": i,
            "percent": percent,
            "previous": spec.steps[i - 1] if i else 0,
            "approval": percent in approvals,
            "gateAfter": True,
        }
        for i, percent in enumerate(spec.steps)
    ]
    moving = (
        bool(ecs_legs)
        or any(leg["release"]["pending"] for leg in legs)
        or any(step["weights"] != leg["plannedWeights"] for leg in legs for step in leg["steps"])
    )
    finalizing = any(leg["finalize"]["pending"] for leg in legs)
    settle = max((leg["settleSeconds"] for leg in legs), default=0)
    timeout = spec.approval.timeoutSeconds if spec.approval else 0
    gated = settle + spec.bakeSeconds + max((_pending_seconds(leg) for leg in legs), default=0)
    ecs_seconds = sum(int(leg["plan"]["lockSeconds"]) for leg in ecs_legs)  # chained waves: one after another
    releasing = sum(
        int(leg["release"]["maxChecks"]) * int(leg["release"]["pollSeconds"]) for leg in legs if leg["release"]["pending"]
    )
    lock_seconds = len(steps) * gated + timeout * len(approvals & set(spec.steps)) + ecs_seconds + releasing + LOCK_MARGIN_SECONDS
    group_name = ", ".join(leg.name for leg in spec.legs)
    plan: GroupPlan = {
        "group": group_name,
        "legs": legs,
        "ecsLegs": ecs_legs,
        "waves": [[route_index[name] for name in wave if name in route_index] for wave in order],
        "releases": [
            {"name": leg["name"], "lockId": leg["lockId"], "release": leg["release"]} for leg in legs if leg["release"]["pending"]
        ],
        "moveWaves": moving_waves,
        "rollbackOrder": list(reversed(moving_waves)),
        "steps": steps,
        "bakeSeconds": spec.bakeSeconds,
        "waitSeconds": settle + spec.bakeSeconds,
        "approvalTimeoutSeconds": timeout,
        "whenLocked": spec.whenLocked,
        "lockIds": [planned[leg.name] for leg in spec.legs],
        "lockSeconds": lock_seconds,
        "finalizePending": finalizing,
        "nothingToDo": not moving and not finalizing,
        "idle": {"status": "NOTHING_TO_DO", "reason": "every leg is already at the end of the plan", "group": group_name},
        "single": False,
        "gateFirst": False,
    }
    size = group_size(plan)
    if size > PLAN_BUDGET_BYTES:
        raise InvalidRolloutInput(
            "legs",
            f"the group's plan is {size} bytes: with the snapshots and results the run adds, it must fit Step Functions'"
            f" 256 KiB of state data (at most {PLAN_BUDGET_BYTES} for the plan): give fewer legs or steps",
        )
    return plan


def check_history(spec: GroupSpec, order: list[list[str]], ecs_waves: list[list[EcsLegPlan]], legs: list[LegPlan]) -> None:
    """The group's worst-case history within HISTORY_BUDGET, now that its ECS legs' pauses and reads, and its
    releases' reads (each leg's deploymentTimeoutSeconds at the group's shortest poll), are planned."""
    releases = [leg["release"] for leg in legs if leg["release"]["pending"]]
    poll = min((int(release["pollSeconds"]) for release in releases), default=1)
    reads = max((-(-int(r["maxChecks"]) * int(r["pollSeconds"]) // poll) for r in releases), default=0)
    polls = [
        (max(len(leg["plan"]["steps"]) + 1 for leg in wave), max(int(leg["plan"]["maxPolls"]) for leg in wave))
        for wave in ecs_waves
        if wave
    ]
    approvals = len(spec.approval.beforeSteps) if spec.approval else 0
    rechecks = max(leg.spec.healthGate.maxPendingChecks for leg in spec.legs)
    events = history_events(len(spec.steps), approvals, len(order), rechecks, polls, reads)
    if events > HISTORY_BUDGET:
        raise InvalidRolloutInput("steps", history_problem(len(spec.steps), events))


def _pending_seconds(leg: LegPlan) -> int:
    """How long the leg's gate may keep a step PENDING (its re-checks)."""
    gate = leg["healthGate"]
    return int(gate.get("maxPendingChecks", 0)) * int(gate.get("recheckSeconds", 0))


def group_size(plan: GroupPlan) -> int:
    """The plan's bytes as the state machine's state holds it (bench and tests measure it against 256 KiB)."""
    return len(json.dumps(cast(dict[str, Any], plan), separators=(",", ":")).encode())
