"""PlanWeightShift: check the whole input and the world it names (read-only), and compute every step's weights."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Required, TypedDict, cast

from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import AmbiguousService, describe_service, describe_task_definition, service_of_target_group
from mesh_rollout.errors import InvalidRolloutInput, MeshResourceNotFound, UnknownReference
from mesh_rollout.shifting.inputs import ROUTE_FIELDS, WeightShiftSpec, parse_spec, step_list
from mesh_rollout.shifting.release import wanted_images
from mesh_rollout.shifting.weights import (
    canary_percent,
    check_route_weights,
    describe_weights,
    is_retired,
    plan_steps,
    retired_weights,
)
from mesh_rollout.traffic import WeightedRoute, Weights, backend_module, route_for

LOCK_MARGIN_SECONDS = 3600
TARGET_KIND = {"appmesh": "virtual node", "lattice": "VPC Lattice target group", "alb": "target group"}


class FinalizePlan(TypedDict):
    """The input's finalize settings, whether there is anything to finalize, and the weights it leaves."""

    removeStableTarget: bool
    deleteStableNode: bool
    deleteStableTargetGroup: bool
    scaleStableServiceToZero: bool
    stableEcsService: dict[str, str] | None
    pending: bool
    weights: Weights


class ReleasePlan(TypedDict, total=False):
    """The image release before the steps ({"pending": false} without one)."""

    pending: Required[bool]
    cluster: str
    service: str
    images: dict[str, str]
    pollSeconds: int
    maxChecks: int


class Idle(TypedDict):
    status: str  # HALTED or NOTHING_TO_DO
    reason: str


class WeightShiftPlan(TypedDict):
    """PlanWeightShift's result, the WeightShiftStateMachine's state from there on (its ResultPath is `$`)."""

    route: dict[str, Any]  # the backend's route reference (every backend's has `backend` and `label`)
    stable: str
    canary: str
    mode: str
    whenLocked: str
    lockId: str
    lockSeconds: int
    fromPercent: int
    plannedWeights: Weights
    steps: list[dict[str, Any]]  # percent, weights, previous, approval, gateAfter
    bakeSeconds: int
    waitSeconds: int
    healthGate: dict[str, Any]  # the gate after each step (shifting.gate reads it)
    preStepGate: dict[str, Any]
    approvalTimeoutSeconds: int
    finalize: FinalizePlan
    release: ReleasePlan
    gateFirst: bool
    nothingToDo: bool
    idle: Idle


def lock_seconds(spec: WeightShiftSpec, steps: list[dict[str, Any]]) -> int:
    """How long the route lock lives: the longest this execution can take, plus a margin."""
    gate = spec.healthGate.recheckSeconds * spec.healthGate.maxPendingChecks
    total = gate if spec.mode == "increment" else 0
    for step in steps:
        total += (spec.settle_seconds + spec.bakeSeconds + gate) if step["gateAfter"] else 0
        total += spec.approval.timeoutSeconds if (step["approval"] and spec.approval) else 0
    return total + LOCK_MARGIN_SECONDS


def read_route(route: WeightedRoute) -> Weights:
    """The route's weights; a missing route raises UnknownReference naming what is missing."""
    try:
        return route.read().weights
    except MeshResourceNotFound:
        route.check_exists()  # UnknownReference naming what is missing (mesh, router, route; service, listener, rule)
        raise


def _check_world(spec: WeightShiftSpec, resolved: dict[str, Any], route: WeightedRoute, current: Weights, clients: Any) -> None:
    """Read-only: the targets, alarms and ECS services the input names exist."""
    cloudwatch, ecs = clients
    retired = is_retired(current, resolved["stable"], resolved["canary"])
    for field in ("stable", "canary"):
        name = resolved[field]
        if not (retired and field == "stable") and not route.target_exists(name):
            raise UnknownReference(field, f"{TARGET_KIND[spec.route_backend]} {name!r} does not exist")
    if spec.healthGate.alarmNames:
        with aws_errors("DescribeAlarms"):
            response = cloudwatch.describe_alarms(
                AlarmNames=list(spec.healthGate.alarmNames), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        known = {a["AlarmName"] for a in response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])}
        for index, name in enumerate(spec.healthGate.alarmNames):
            if name not in known:
                raise UnknownReference(f"healthGate.alarmNames[{index}]", f"CloudWatch alarm {name!r} does not exist")
    if spec.canaryEcsService is not None:
        describe_service(ecs, spec.canaryEcsService.cluster, spec.canaryEcsService.service, "canaryEcsService")
    for index, ref in enumerate(spec.healthGate.ecsServices):
        describe_service(ecs, ref.cluster, ref.service, f"healthGate.ecsServices[{index}]")
    if spec.finalize.stableEcsService is not None:
        ref = spec.finalize.stableEcsService
        describe_service(ecs, ref.cluster, ref.service, "finalize.stableEcsService")


def with_ecs_services(spec: WeightShiftSpec, resolved: dict[str, Any], ecs: Any, clusters: str) -> WeightShiftSpec:
    """The canary's service (gate, release) and the stable's (finalize), found from their target groups when not
    given (give them to spare the search); App Mesh nodes name no service, so there they must be given."""
    arns: dict[str, str] = resolved["arns"]
    updates: dict[str, Any] = {}
    releasing = spec.imageDefinitions is not None or spec.canaryImage is not None
    if spec.canaryEcsService is None and arns and (releasing or not spec.healthGate.ecsServices):
        found = _service_of(ecs, arns[resolved["canary"]], clusters, "canaryEcsService", resolved["canary"])
        if found is None and releasing:
            raise InvalidRolloutInput(
                "canaryEcsService", f"no ECS service registers in target group {resolved['canary']!r}; name it"
            )
        if found is not None:
            updates["canaryEcsService"] = found
    if spec.finalize.scaleStableServiceToZero and spec.finalize.stableEcsService is None and resolved["stable"] in arns:
        found = _service_of(ecs, arns[resolved["stable"]], clusters, "finalize.stableEcsService", resolved["stable"])
        if found is None:
            raise InvalidRolloutInput(
                "finalize.stableEcsService", f"no ECS service registers in target group {resolved['stable']!r}; name it"
            )
        updates["finalize"] = {**spec.finalize.model_dump(exclude_none=True), "stableEcsService": found}
    merged = WeightShiftSpec.model_validate({**spec.model_dump(exclude_none=True), **updates}) if updates else spec
    if merged.canaryEcsService is not None and not merged.healthGate.ecsServices:  # gate on the canary's service
        gate = merged.healthGate.model_copy(update={"ecsServices": [merged.canaryEcsService]})
        merged = merged.model_copy(update={"healthGate": gate})
    return merged


def take_turns(
    spec: WeightShiftSpec, resolved: dict[str, Any], current: Weights, ecs: Any, clusters: str
) -> tuple[WeightShiftSpec, dict[str, Any]]:
    """`alternate`: decide which of the two target groups is the canary this time: the idle one (weight 0), the one
    holding the traffic being the stable; but a group whose ECS service already runs the release's images stays or
    becomes the canary (a re-run of a release that went live finds nothing to do instead of releasing the same
    images to the other service; a shift that stopped half-way goes on towards the release).
    Both groups stay on the route at the end (removeStableTarget false). The decided roles are the plan's `stable`
    and `canary`, which every later state, the status and the roll-back read."""
    groups = (resolved["stable"], resolved["canary"])
    route = resolved["reference"]["label"]
    for group in groups:
        if group not in current:
            raise InvalidRolloutInput(
                "alternate", f"needs both target groups on route {route!r}; add {group!r} back to its forward action at weight 0"
            )
    releasing = spec.imageDefinitions is not None or spec.canaryImage is not None
    released = [g for g in groups if releasing and _runs_release(spec, resolved, g, ecs, clusters)]
    held = [g for g in groups if current[g] > 0]
    if len(held) == 1 and held[0] in released:
        canary = held[0]  # the release is live already: nothing to do
    elif len(released) == 1:
        canary = released[0]  # deployed, its traffic not all moved yet: the shift goes on towards it
    elif len(held) == 1:
        canary = next(g for g in groups if g not in held)
    else:
        raise InvalidRolloutInput(
            "alternate",
            f"cannot tell the idle target group: route {route!r} has {describe_weights(current)} (each release leaves one"
            f" of {groups[0]!r} and {groups[1]!r} at 0); finish or roll back the shift that left it, or name the roles"
            " without alternate",
        )
    stable = next(g for g in groups if g != canary)
    turned = spec.model_copy(
        update={
            "stable": stable,
            "canary": canary,
            "finalize": spec.finalize.model_copy(update={"removeStableTarget": False}),
        }
    )
    return turned, {**resolved, "stable": stable, "canary": canary}


def _runs_release(spec: WeightShiftSpec, resolved: dict[str, Any], group: str, ecs: Any, clusters: str) -> bool:
    """The ECS service behind `group` runs every image the release asks for."""
    found = _service_of(ecs, resolved["arns"][group], clusters, "alternate", group)
    if found is None:
        raise InvalidRolloutInput("alternate", f"no ECS service registers in target group {group!r}: each group needs its own")
    service = describe_service(ecs, found["cluster"], found["service"], "alternate")
    running, _ = describe_task_definition(ecs, service["taskDefinition"])
    definitions = [d.model_dump() for d in spec.imageDefinitions] if spec.imageDefinitions is not None else None
    images = wanted_images(running, definitions, spec.canaryImage, spec.canaryContainer)
    containers = {c["name"]: c.get("image") for c in running["containerDefinitions"]}
    return all(containers.get(name) == image for name, image in images.items())


def _service_of(ecs: Any, arn: str, clusters: str, field: str, group: str) -> dict[str, str] | None:
    try:
        return service_of_target_group(ecs, arn, clusters)
    except AmbiguousService as several:
        raise InvalidRolloutInput(field, f"ECS services {several} all register in target group {group!r}: name the one") from None


def _finalize(
    spec: WeightShiftSpec, resolved: dict[str, Any], route: WeightedRoute, current: Weights, ecs: Any
) -> dict[str, Any]:
    settings = spec.finalize
    stable = resolved["stable"]
    retiring = [f for f in ("scaleStableServiceToZero", "deleteStableTargetGroup") if getattr(settings, f)]
    if retiring and spec.route_backend != "appmesh" and stable not in resolved["arns"]:
        retiring = []  # deleted already (a finished shift's finalize): no traffic of it to cut off
    if retiring and spec.route_backend != "appmesh":
        uses = route.other_uses(stable)
        if uses:
            raise InvalidRolloutInput(
                f"finalize.{retiring[0]}",
                f"target group {stable!r} also receives traffic from {', '.join(uses)}: retiring it would cut that off",
            )
    pending = settings.removeStableTarget and stable in current
    pending = pending or ((settings.deleteStableNode or settings.deleteStableTargetGroup) and route.target_exists(stable))
    if not pending and settings.scaleStableServiceToZero and settings.stableEcsService is not None:
        ref = settings.stableEcsService
        pending = int(describe_service(ecs, ref.cluster, ref.service, "finalize.stableEcsService").get("desiredCount", 0)) > 0
    found = {**settings.model_dump(mode="json"), "pending": bool(pending)}
    if spec.route_backend != "appmesh" and stable not in resolved["arns"]:
        found["deleteStableTargetGroup"] = False  # deleted already: finalize has nothing of it to delete
    return found


def plan_release(spec: WeightShiftSpec, ecs: Any) -> ReleasePlan | None:
    """The image release to do before the steps (read-only), or None."""
    if spec.canaryEcsService is None or (spec.imageDefinitions is None and spec.canaryImage is None):
        return None
    ref = spec.canaryEcsService
    current, _ = describe_task_definition(
        ecs, describe_service(ecs, ref.cluster, ref.service, "canaryEcsService")["taskDefinition"]
    )
    definitions = [d.model_dump() for d in spec.imageDefinitions] if spec.imageDefinitions is not None else None
    images = wanted_images(current, definitions, spec.canaryImage, spec.canaryContainer)
    running = {c["name"]: c.get("image") for c in current["containerDefinitions"]}
    return {
        "cluster": ref.cluster,
        "service": ref.service,
        "images": images,
        "pending": any(running.get(name) != image for name, image in images.items()),
        "pollSeconds": spec.deploymentPollSeconds,
        "maxChecks": -(-spec.deploymentTimeoutSeconds // spec.deploymentPollSeconds),
    }


def gates(
    spec: WeightShiftSpec, resolved: dict[str, Any], current: Weights, cloudwatch: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The gate after each step, and the one a step-mode tick passes before it moves the canary. A canary without
    traffic has no request metrics yet (they would only ever be missing), so that one judges alarms and ECS alone."""
    gate = spec.healthGate.model_dump(mode="json", exclude={"maxErrorRate", "maxLatencyMs", "latencyStatistic", "compare"})
    gate["metrics"] = [*gate["metrics"], *threshold_presets(spec, resolved, cloudwatch)]
    gone = spec.route_backend != "appmesh" and resolved["stable"] not in resolved["arns"]  # a finished shift deleted it
    gate["compare"] = None if gone else compare_gate(spec, resolved, cloudwatch)
    return gate, (gate if current.get(resolved["canary"], 0) > 0 else {**gate, "metrics": [], "compare": None})


def threshold_presets(spec: WeightShiftSpec, resolved: dict[str, Any], cloudwatch: Any) -> list[dict[str, Any]]:
    """healthGate.maxErrorRate / maxLatencyMs as threshold metrics of the canary's own target group."""
    gate = spec.healthGate
    if gate.maxErrorRate is None and gate.maxLatencyMs is None:
        return []
    module = backend_module(spec.route_backend)
    metrics = module.target_metrics(resolved, resolved["canary"], gate.latencyStatistic, cloudwatch)
    judged = {"comparisonOperator": "GreaterThanThreshold", "treatMissingData": "missing"}
    presets = []
    if gate.maxErrorRate is not None:
        presets.append({"id": "canaryErrorRate", **metrics["errorRate"], "threshold": gate.maxErrorRate, **judged})
    if gate.maxLatencyMs is not None:
        threshold = module.latency_threshold(gate.maxLatencyMs)
        presets.append({"id": "canaryLatency", **metrics["latency"], "threshold": threshold, **judged})
    return presets


def compare_gate(spec: WeightShiftSpec, resolved: dict[str, Any], cloudwatch: Any) -> dict[str, Any] | None:
    """The judge's metrics, each as one MetricStat (and divisor) per side: presets, or templates with "${target}"
    filled in with each side's dimension value."""
    compare = spec.healthGate.compare
    if compare is None:
        return None
    module = backend_module(spec.route_backend)
    metrics = []
    for metric in compare.metrics:
        entry: dict[str, Any] = {"id": metric.id, "direction": metric.direction, "weight": metric.weight}
        for side in ("canary", "stable"):
            target = resolved[side]
            if metric.preset is not None:
                entry[side] = module.target_metrics(resolved, target, compare.latencyStatistic, cloudwatch)[metric.preset]
                continue
            value = module.dimension_value(resolved, target, cloudwatch)
            filled = {
                k: json.loads(json.dumps(v).replace("${target}", value))
                for k, v in (("metricStat", metric.metricStat), ("divideBy", metric.divideBy))
                if v
            }
            entry[side] = filled
        metrics.append(entry)
    return {**compare.model_dump(mode="json", exclude={"metrics"}), "metrics": metrics}


def plan_weight_shift(
    raw: Any,
    cloudwatch: Any,
    ecs: Any,
    halt_of: Callable[[str], dict[str, str] | None] = lambda lock_id: None,
    clusters: str = "*",
) -> WeightShiftPlan:
    """Check the whole input (shape, then the route, targets, alarms and services, read-only) and plan it.
    A step-mode tick towards a canary whose last step-mode run rolled back (`halt_of(lockId)`, read only
    once the input is valid) does nothing (HALTED). The ECS services of target groups are looked for in the
    clusters whose names match `clusters` (the stack's ClusterName: where the functions may act)."""
    spec = parse_spec(raw)
    backend = spec.route_backend
    fields = {f: getattr(spec, f) for f in ROUTE_FIELDS[backend]}
    deleted = {"deleted_stable": True} if spec.finalize.deleteStableTargetGroup else {}  # Lattice and ALB only
    resolved = backend_module(backend).resolve(fields, spec.stable, spec.canary, **deleted)
    stable, canary, reference = resolved["stable"], resolved["canary"], resolved["reference"]
    route = route_for(reference)
    current = read_route(route)
    if spec.alternate:
        spec, resolved = take_turns(spec, resolved, current, ecs, clusters)
        stable, canary = resolved["stable"], resolved["canary"]
    check_route_weights(current, stable, canary, reference["label"], route.scale)
    spec = with_ecs_services(spec, resolved, ecs, clusters)
    _check_world(spec, resolved, route, current, (cloudwatch, ecs))
    approvals = set(spec.approval.beforeSteps) if spec.approval else set()
    steps = [
        {**step, "gateAfter": spec.mode == "plan"}
        for step in plan_steps(current, stable, canary, step_list(spec), approvals, route.scale, spec.mode == "increment")
    ]
    at = canary_percent(current, stable, canary)
    reaches_full = is_retired(current, stable, canary) or (
        (steps[-1]["percent"] == 100 and spec.mode == "plan") if steps else at == 100
    )
    finalize = cast(
        FinalizePlan,
        _finalize(spec, resolved, route, current, ecs)
        if reaches_full
        else {**spec.finalize.model_dump(mode="json"), "pending": False},
    )
    full = steps[-1]["weights"] if steps else current
    finalize["weights"] = retired_weights(full, stable) if finalize["pending"] and spec.finalize.removeStableTarget else full
    release: ReleasePlan = plan_release(spec, ecs) or {"pending": False}
    if release["pending"] and not steps:
        raise InvalidRolloutInput(
            "canary",
            f"{canary!r} already carries all of the traffic {stable!r} shared with it: a new image would go"
            " live with no step, bake or gate. Release to the target without traffic (swap stable and canary)",
        )
    lock_id = route_lock_id(reference)
    stopped = halt_of(lock_id) if spec.mode == "increment" else None
    halted = stopped is not None and stopped["canary"] == canary and not release["pending"]
    idle: Idle = (
        {"status": "HALTED", "reason": f"{stopped['reason']} (halted by {stopped['haltedBy']})"}
        if halted and stopped
        else {"status": "NOTHING_TO_DO", "reason": "already at the end of the plan"}
    )
    gate, pre_step_gate = gates(spec, resolved, current, cloudwatch)
    return {
        "route": reference,
        "stable": stable,
        "canary": canary,
        "mode": spec.mode,
        "whenLocked": spec.whenLocked,
        "lockId": lock_id,
        "lockSeconds": lock_seconds(spec, steps) + (spec.deploymentTimeoutSeconds if release["pending"] else 0),
        "fromPercent": at,
        "plannedWeights": current,
        "steps": steps,
        "bakeSeconds": spec.bakeSeconds,
        "waitSeconds": spec.settle_seconds + spec.bakeSeconds,
        "healthGate": gate,
        "preStepGate": pre_step_gate,
        "approvalTimeoutSeconds": spec.approval.timeoutSeconds if spec.approval else 0,
        "finalize": finalize,
        "release": release,
        "gateFirst": spec.mode == "increment" and bool(steps or finalize["pending"]),
        "nothingToDo": halted or (not steps and not finalize["pending"] and not release["pending"]),
        "idle": idle,
    }


def route_lock_id(reference: dict[str, Any]) -> str:
    """One lock per App Mesh route (its label), per listener rule or default action (IDs and ARNs: a rename does not
    free it)."""
    if reference["backend"] == "appmesh":
        return f"appmesh:{reference['label']}"
    if reference["backend"] == "lattice":
        return f"lattice:{reference['service']}/{reference['listener']}/{reference['rule'] or 'default'}"
    return f"alb:{reference['ruleArn'] or reference['listenerArn'] + '/default'}"
