"""The WeightShiftStateMachine input, its checks and the weight arithmetic (pure, no AWS calls)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from mesh_rollout.aws.specs import input_shape, model_problems
from mesh_rollout.errors import InvalidRolloutInput, RouteDrifted
from mesh_rollout.traffic import Weights
from mesh_rollout.traffic.appmesh import MAX_TOTAL_WEIGHT

Percent = Annotated[StrictInt, Field(ge=1, le=100)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=255)]
DEFAULT_STEP_PERCENT = 25
LOCK_MARGIN_SECONDS = 3600


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EcsServiceRef(_Strict):
    cluster: Name
    service: Name


class MetricCheck(_Strict):
    """A CloudWatch metric (or the ratio of two) over the bake window, compared with a threshold."""

    id: StrictStr = Field(pattern=r"^[a-z][a-zA-Z0-9_]{0,254}$")
    metricStat: dict[str, Any]
    divideBy: dict[str, Any] | None = None
    threshold: StrictInt | StrictFloat
    comparisonOperator: Literal[
        "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
    ] = "GreaterThanThreshold"
    treatMissingData: Literal["missing", "notBreaching", "breaching"] = "missing"


class HealthGate(_Strict):
    alarmNames: list[Name] = Field(default_factory=list, max_length=100)
    ecsServices: list[EcsServiceRef] = Field(default_factory=list, max_length=10)
    metrics: list[MetricCheck] = Field(default_factory=list, max_length=10)
    recheckSeconds: StrictInt = Field(default=60, ge=1, le=3600)
    maxPendingChecks: StrictInt = Field(default=10, ge=0, le=100)


class Approval(_Strict):
    beforeSteps: list[Percent] = Field(default_factory=lambda: [100], min_length=1)
    timeoutSeconds: StrictInt = Field(default=86400, ge=1, le=31_536_000)


class Finalize(_Strict):
    removeStableTarget: StrictBool = True
    deleteStableNode: StrictBool = False
    scaleStableServiceToZero: StrictBool = False
    stableEcsService: EcsServiceRef | None = None


class ImageDefinition(_Strict):
    """One entry of CodePipeline's imagedefinitions.json."""

    name: Name
    imageUri: StrictStr = Field(min_length=1, max_length=1024)


class WeightShiftSpec(_Strict):
    """Move a route's traffic from `stable` to `canary`, in App Mesh's own naming."""

    meshName: Name
    virtualRouterName: Name
    routeName: Name
    stable: Name
    canary: Name
    steps: list[Percent] | None = Field(default=None, min_length=1, max_length=100)
    stepPercent: Percent | None = None
    bakeSeconds: StrictInt = Field(default=300, ge=0, le=604_800)
    healthGate: HealthGate = Field(default_factory=HealthGate)
    approval: Approval | None = None
    finalize: Finalize = Field(default_factory=Finalize)
    mode: Literal["plan", "increment"] = "plan"
    canaryEcsService: EcsServiceRef | None = None
    imageDefinitions: list[ImageDefinition] | None = Field(default=None, min_length=1, max_length=10)
    canaryImage: StrictStr | None = Field(default=None, min_length=1, max_length=1024)
    canaryContainer: Name | None = None
    deploymentTimeoutSeconds: StrictInt = Field(default=1800, ge=60, le=86400)
    deploymentPollSeconds: StrictInt = Field(default=15, ge=1, le=300)
    whenLocked: Literal["fail", "skip"] = "fail"
    backend: Literal["appmesh"] = "appmesh"


def step_list(spec: WeightShiftSpec) -> list[int]:
    """The canary percentages of the whole plan: `steps`, or +stepPercent up to 100."""
    if spec.steps is not None:
        return list(spec.steps)
    size = spec.stepPercent or DEFAULT_STEP_PERCENT
    return [min(size * k, 100) for k in range(1, -(-100 // size) + 1)]


def check_spec(spec: WeightShiftSpec) -> None:
    """Cross-field rules pydantic cannot express; each error names its field."""
    if spec.canary == spec.stable:
        raise InvalidRolloutInput("canary", f"must differ from stable ({spec.stable!r})")
    if spec.steps is not None and spec.stepPercent is not None:
        raise InvalidRolloutInput("stepPercent", "give steps or stepPercent, not both")
    for index, (before, after) in enumerate(zip(step_list(spec), step_list(spec)[1:], strict=False)):
        if after <= before:
            raise InvalidRolloutInput(f"steps[{index + 1}]", f"{after} must be above the step before it ({before})")
    if spec.approval is not None:
        for index, percent in enumerate(spec.approval.beforeSteps):
            if percent not in step_list(spec):
                raise InvalidRolloutInput(
                    f"approval.beforeSteps[{index}]", f"{percent} is not a step of the plan {step_list(spec)}"
                )
    if spec.finalize.deleteStableNode and not spec.finalize.removeStableTarget:
        raise InvalidRolloutInput("finalize.deleteStableNode", "needs removeStableTarget: a node still on the route cannot go")
    _check_release(spec)
    if spec.finalize.scaleStableServiceToZero and spec.finalize.stableEcsService is None:
        raise InvalidRolloutInput("finalize.stableEcsService", "is required when scaleStableServiceToZero is true")
    _check_metrics(spec.healthGate.metrics)


def _check_release(spec: WeightShiftSpec) -> None:
    if spec.imageDefinitions is not None and spec.canaryImage is not None:
        raise InvalidRolloutInput("canaryImage", "give imageDefinitions or canaryImage, not both")
    if spec.canaryContainer is not None and spec.canaryImage is None:
        raise InvalidRolloutInput("canaryContainer", "only applies with canaryImage")
    if (spec.imageDefinitions is not None or spec.canaryImage is not None) and spec.canaryEcsService is None:
        raise InvalidRolloutInput("canaryEcsService", "is required to release a new image: the canary's ECS service")


def _check_metrics(metrics: list[MetricCheck]) -> None:
    """Each metricStat / divideBy against CloudWatch's own MetricStat shape."""
    queries: Any = input_shape("cloudwatch", "GetMetricData").members["MetricDataQueries"]
    metric_stat = queries.member.members["MetricStat"]
    for index, metric in enumerate(metrics):
        for key in ("metricStat", "divideBy"):
            value = getattr(metric, key)
            problems = model_problems(value, metric_stat, f"healthGate.metrics[{index}].{key}") if value is not None else []
            if problems:
                raise InvalidRolloutInput(*problems[0])


# --- weight arithmetic ------------------------------------------------------------------------------


def pool(weights: Weights, stable: str, canary: str) -> int:
    """The weight stable and canary hold between them; a step redistributes only this."""
    return weights.get(stable, 0) + weights.get(canary, 0)


def canary_percent(weights: Weights, stable: str, canary: str) -> int:
    total = pool(weights, stable, canary)
    return 0 if total == 0 else (200 * weights.get(canary, 0) + total) // (2 * total)


def weights_at(base: Weights, stable: str, canary: str, percent: int) -> Weights:
    """`base` with the canary at `percent` of the stable+canary pool; other targets keep their weight."""
    total = pool(base, stable, canary)
    canary_weight = (total * percent * 2 + 100) // 200
    return {**base, stable: total - canary_weight, canary: canary_weight}


def describe_weights(weights: Weights) -> str:
    """{'serviceB': 75, 'serviceBv2': 25} -> 'serviceB 75 / serviceBv2 25'."""
    return " / ".join(f"{name} {weight}" for name, weight in weights.items())


def is_retired(weights: Weights, stable: str, canary: str) -> bool:
    """The shift is complete: the stable target is gone and the canary carries all the route's traffic.

    (A stable name that was never on the route, next to other weighted targets, is an input error instead.)"""
    return stable not in weights and weights.get(canary, 0) > 0 and all(w == 0 for n, w in weights.items() if n != canary)


def pending_steps(spec: WeightShiftSpec, current: Weights) -> list[dict[str, Any]]:
    """The steps this execution applies, each with the percentage before it."""
    if is_retired(current, spec.stable, spec.canary):
        return []
    at = canary_percent(current, spec.stable, spec.canary)
    approvals = set(spec.approval.beforeSteps) if spec.approval else set()
    # Compared by weight, not by rounded percentage: a step counts only if it gives the canary more weight
    # than it has now (else it is already reached) or than the step before gave it (else it is folded into
    # the next step, its approval with it).
    weight = current.get(spec.canary, 0)
    todo: list[tuple[int, bool]] = []
    approval = False
    for percent in step_list(spec):
        approval = (bool(todo) and approval) or percent in approvals
        step_weight = weights_at(current, spec.stable, spec.canary, percent)[spec.canary]
        if step_weight > weight:
            todo.append((percent, approval))
            weight, approval = step_weight, False
    if spec.mode == "increment":
        todo = todo[:1]
    previous = [at, *(percent for percent, _ in todo)]
    return [
        {"percent": percent, "previousPercent": prev, "approval": approval, "gateAfter": spec.mode == "plan"}
        for prev, (percent, approval) in zip(previous, todo, strict=False)
    ]


def check_route_weights(spec: WeightShiftSpec, current: Weights) -> None:
    """The route must hold the stable target, with weight to shift, and weigh at most 100 in total as App Mesh
    requires: a step keeps the total, so it would write a total App Mesh refuses (and give the canary up to
    the whole stable + canary pool, a weight above 100 if that pool is)."""
    total = sum(current.values())
    if total > MAX_TOTAL_WEIGHT:
        raise InvalidRolloutInput(
            "routeName",
            f"route {spec.routeName!r} has {describe_weights(current)}: its weights sum to {total}, above App Mesh's"
            f" maximum total of {MAX_TOTAL_WEIGHT}; correct the route's weights before shifting them",
        )
    if is_retired(current, spec.stable, spec.canary):
        return
    if spec.stable not in current:
        raise InvalidRolloutInput("stable", f"{spec.stable!r} is not a weighted target of route {spec.routeName!r}")
    if pool(current, spec.stable, spec.canary) == 0:
        raise InvalidRolloutInput("stable", f"{spec.stable!r} and {spec.canary!r} hold no weight on the route: nothing to shift")
    if spec.canary not in current and len(current) >= 10:
        raise InvalidRolloutInput("canary", "the route already has 10 weighted targets, App Mesh's maximum")


def lock_seconds(spec: WeightShiftSpec, steps: list[dict[str, Any]]) -> int:
    """How long the route lock lives: the longest this execution can take, plus a margin."""
    gate = spec.healthGate.recheckSeconds * spec.healthGate.maxPendingChecks
    total = gate if spec.mode == "increment" else 0
    for step in steps:
        total += (spec.bakeSeconds + gate) if step["gateAfter"] else 0
        total += spec.approval.timeoutSeconds if (step["approval"] and spec.approval) else 0
    return total + LOCK_MARGIN_SECONDS


def expect_weights(current: Weights, allowed: list[Weights], route: str) -> None:
    """RouteDrifted unless the route holds one of the weight sets this rollout may have left."""
    if current not in allowed:
        raise RouteDrifted(
            f"route {route} has {describe_weights(current)}, which this rollout did not write "
            f"(expected {' or '.join(describe_weights(w) for w in allowed)}); the hand-set weights are left alone"
        )
