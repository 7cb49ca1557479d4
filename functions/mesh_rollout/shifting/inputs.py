"""The WeightShiftStateMachine input and its cross-field checks (pure, no AWS calls).

The route is named in its service's own vocabulary, and the fields given choose the backend:
- App Mesh: `meshName`, `virtualRouterName`, `routeName`; `stable` and `canary` are virtual nodes.
- VPC Lattice: `serviceIdentifier`, `listenerIdentifier` and `ruleIdentifier` (each a name, ID or ARN; no rule: the
  listener's default action); `stable` and `canary` are target groups (name, ID or ARN).
- ALB: `listenerArn` and `ruleArn` (no rule: the listener's default actions); `stable` and `canary` are target
  groups (name or ARN).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from mesh_rollout.aws.specs import input_shape, model_problems
from mesh_rollout.errors import InvalidRolloutInput, check_all
from mesh_rollout.parsing import Strict, parse_input
from mesh_rollout.traffic import BACKEND_NAMES

Percent = Annotated[StrictInt, Field(ge=1, le=100)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=255)]
Arn = Annotated[StrictStr, Field(min_length=20, max_length=2048)]
DEFAULT_STEP_PERCENT = 25
ROUTE_FIELDS = {
    "appmesh": ("meshName", "virtualRouterName", "routeName"),
    "lattice": ("serviceIdentifier", "listenerIdentifier", "ruleIdentifier"),
    "alb": ("listenerArn", "ruleArn"),
}
REQUIRED_ROUTE_FIELDS = {
    "appmesh": ("meshName", "virtualRouterName", "routeName"),
    "lattice": ("serviceIdentifier", "listenerIdentifier"),
    "alb": ("listenerArn",),
}
# Lattice and ALB publish 1-minute metrics and document no propagation time for a weight change: one full metric
# period passes before the gate's window starts. App Mesh pushes a route change to Envoy in seconds.
DEFAULT_SETTLE_SECONDS = {"appmesh": 0, "lattice": 60, "alb": 60}


class EcsServiceRef(Strict):
    cluster: Name
    service: Name


class MetricCheck(Strict):
    """A CloudWatch metric (or the ratio of two) over the bake window, compared with a threshold."""

    id: StrictStr = Field(pattern=r"^[a-z][a-zA-Z0-9_]{0,254}$")
    metricStat: dict[str, Any]
    divideBy: dict[str, Any] | None = None
    threshold: StrictInt | StrictFloat
    comparisonOperator: Literal[
        "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
    ] = "GreaterThanThreshold"
    treatMissingData: Literal["missing", "notBreaching", "breaching"] = "missing"


class CompareMetric(Strict):
    """One metric the judge compares between canary and stable: a preset of the backend, or a template whose
    dimension values may say "${target}" (filled in with each side's target group, or virtual node name)."""

    id: StrictStr = Field(pattern=r"^[a-z][a-zA-Z0-9_]{0,40}$")
    preset: Literal["errorRate", "latency"] | None = None
    metricStat: dict[str, Any] | None = None
    divideBy: dict[str, Any] | None = None
    direction: Literal["higherIsWorse", "lowerIsWorse"] = "higherIsWorse"
    weight: StrictInt | StrictFloat = Field(default=1, gt=0)


class Compare(Strict):
    """The statistical judge: is the canary worse than stable, per period, over the window since the step?"""

    metrics: list[CompareMetric] = Field(min_length=1, max_length=10)
    alpha: StrictFloat = Field(default=0.05, gt=0, lt=0.5)
    minEffect: StrictInt | StrictFloat = Field(default=0.1, ge=0)
    minPoints: StrictInt = Field(default=5, ge=1, le=1440)
    passScore: StrictInt | StrictFloat = Field(default=95, ge=0, le=100)
    marginalScore: StrictInt | StrictFloat = Field(default=75, ge=0, le=100)
    latencyStatistic: StrictStr = Field(default="p50", pattern=r"^(Average|Maximum|p\d{1,2}(\.\d{1,2})?)$")
    whenNoData: Literal["fail", "pass"] = "fail"


class HealthGate(Strict):
    alarmNames: list[Name] = Field(default_factory=list, max_length=100)
    ecsServices: list[EcsServiceRef] = Field(default_factory=list, max_length=10)
    metrics: list[MetricCheck] = Field(default_factory=list, max_length=10)
    # one line each for the canary target group's own metrics (VPC Lattice, ALB): 5xx / requests, and latency
    maxErrorRate: StrictInt | StrictFloat | None = Field(default=None, ge=0, le=1)
    maxLatencyMs: StrictInt | StrictFloat | None = Field(default=None, gt=0)
    latencyStatistic: StrictStr = Field(default="p99", pattern=r"^(Average|Maximum|p\d{1,2}(\.\d{1,2})?)$")
    compare: Compare | None = None
    recheckSeconds: StrictInt = Field(default=60, ge=1, le=3600)
    maxPendingChecks: StrictInt = Field(default=10, ge=0, le=100)


class Approval(Strict):
    beforeSteps: list[Percent] = Field(default_factory=lambda: [100], min_length=1)
    timeoutSeconds: StrictInt = Field(default=86400, ge=1, le=31_536_000)


class Finalize(Strict):
    removeStableTarget: StrictBool = True
    deleteStableNode: StrictBool = False  # App Mesh
    deleteStableTargetGroup: StrictBool = False  # VPC Lattice, ALB
    scaleStableServiceToZero: StrictBool = False
    stableEcsService: EcsServiceRef | None = None


class ImageDefinition(Strict):
    """One entry of CodePipeline's imagedefinitions.json."""

    name: Name
    imageUri: StrictStr = Field(min_length=1, max_length=1024)


class WeightShiftSpec(Strict):
    """Move a route's traffic from `stable` to `canary`, in the route's own service's vocabulary."""

    backend: Literal["appmesh", "lattice", "alb"] | None = None
    meshName: Name | None = None
    virtualRouterName: Name | None = None
    routeName: Name | None = None
    serviceIdentifier: StrictStr | None = Field(default=None, min_length=3, max_length=2048)
    listenerIdentifier: StrictStr | None = Field(default=None, min_length=3, max_length=2048)
    ruleIdentifier: StrictStr | None = Field(default=None, min_length=3, max_length=2048)
    listenerArn: Arn | None = None
    ruleArn: Arn | None = None
    stable: Name
    canary: Name
    steps: list[Percent] | None = Field(default=None, min_length=1, max_length=100)
    stepPercent: Percent | None = None
    bakeSeconds: StrictInt = Field(default=300, ge=0, le=604_800)
    settleSeconds: StrictInt | None = Field(default=None, ge=0, le=3600)
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
    dryRun: StrictBool = False  # check everything the shift would hit, read-only, and report it (shifting/dry_run.py)
    # the release loop (VPC Lattice, ALB): of `stable` and `canary`, the target group that holds the traffic is the
    # stable and the idle one the canary, decided by the plan from the route's weights (docs/weight-shift.md)
    alternate: StrictBool = False

    @property
    def route_backend(self) -> str:
        """The backend the input's route fields name (check_spec has made sure there is exactly one)."""
        return self.backend or next(b for b, fields in ROUTE_FIELDS.items() if any(getattr(self, f) for f in fields))

    @property
    def settle_seconds(self) -> int:
        return DEFAULT_SETTLE_SECONDS[self.route_backend] if self.settleSeconds is None else self.settleSeconds


def step_list(spec: WeightShiftSpec) -> list[int]:
    """The canary percentages of the whole plan: `steps`, or +stepPercent up to 100."""
    if spec.steps is not None:
        return list(spec.steps)
    size = spec.stepPercent or DEFAULT_STEP_PERCENT
    return [min(size * k, 100) for k in range(1, -(-100 // size) + 1)]


def parse_spec(raw: Any) -> WeightShiftSpec:
    """The input as a checked WeightShiftSpec: its shape, then the rules between its fields (no AWS call)."""
    spec = parse_input(raw, WeightShiftSpec)
    check_spec(spec)
    return spec


def check_spec(spec: WeightShiftSpec) -> None:
    """Cross-field rules pydantic cannot express; each error names its field. Every rule is checked, and every one
    that fails is in the one error raised (a single failure keeps its own error class)."""
    failed: list[InvalidRolloutInput] = []
    try:
        check_route_fields(spec)
    except InvalidRolloutInput as exc:
        failed.append(exc)
    check_all(RULES if not failed else RULES_WITHOUT_A_ROUTE, spec, failed)  # the others need to know the backend


def _check_stable_and_canary(spec: WeightShiftSpec) -> None:
    if spec.canary == spec.stable:
        raise InvalidRolloutInput("canary", f"must differ from stable ({spec.stable!r})")


def step_problems(spec: WeightShiftSpec) -> list[tuple[str, str]]:
    """A schedule's steps (a route's, or a group's: grouping/inputs.py): steps or stepPercent, each above the last."""
    problems = []
    if spec.steps is not None and spec.stepPercent is not None:
        problems.append(("stepPercent", "give steps or stepPercent, not both"))
    steps = step_list(spec)
    for index, (before, after) in enumerate(itertools.pairwise(steps)):
        if after <= before:
            problems.append((f"steps[{index + 1}]", f"{after} must be above the step before it ({before})"))
    return problems


def approval_problems(spec: WeightShiftSpec) -> list[tuple[str, str]]:
    """A schedule's approvals (a route's or a group's): each before one of its steps."""
    steps = step_list(spec)
    return [
        (f"approval.beforeSteps[{index}]", f"{percent} is not a step of the plan {steps}")
        for index, percent in enumerate(spec.approval.beforeSteps if spec.approval else [])
        if percent not in steps
    ]


def _check_steps(spec: WeightShiftSpec) -> None:
    for field, problem in step_problems(spec)[:1]:
        raise InvalidRolloutInput(field, problem)


def _check_approval(spec: WeightShiftSpec) -> None:
    for field, problem in approval_problems(spec)[:1]:
        raise InvalidRolloutInput(field, problem)


def _check_gate_metrics(spec: WeightShiftSpec) -> None:
    check_metrics(spec.healthGate.metrics)


def _check_presets_on_app_mesh(spec: WeightShiftSpec) -> None:
    if spec.route_backend == "appmesh" and (spec.healthGate.maxErrorRate is not None or spec.healthGate.maxLatencyMs):
        field = "healthGate.maxErrorRate" if spec.healthGate.maxErrorRate is not None else "healthGate.maxLatencyMs"
        raise InvalidRolloutInput(
            field, "App Mesh publishes no metrics per virtual node; give healthGate.metrics (your Envoy stats) or alarmNames"
        )


def check_route_fields(spec: WeightShiftSpec) -> None:
    """The input names one route of one backend, with every field that backend requires."""
    named = [b for b, fields in ROUTE_FIELDS.items() if any(getattr(spec, f) is not None for f in fields)]
    if len(named) > 1:
        fields = [f for b in named for f in ROUTE_FIELDS[b] if getattr(spec, f) is not None]
        raise InvalidRolloutInput(
            fields[-1],
            f"names {a_route(named[-1])} route, but {fields[0]} names {a_route(named[0])} one: give one route",
        )
    backend = spec.backend or (named[0] if named else None)
    if backend is None:
        raise InvalidRolloutInput(
            "(input)",
            "name the route: meshName/virtualRouterName/routeName (App Mesh), serviceIdentifier/"
            "listenerIdentifier[/ruleIdentifier] (VPC Lattice) or listenerArn[/ruleArn] (ALB)",
        )
    if named and named[0] != backend:
        raise InvalidRolloutInput("backend", f"is {backend!r}, but the route fields name {a_route(named[0])} route")
    for field in REQUIRED_ROUTE_FIELDS[backend]:
        if getattr(spec, field) is None:
            raise InvalidRolloutInput(field, f"is required for {a_route(backend)} route")


def a_route(backend: str) -> str:
    """The backend's name with its article: "an App Mesh", "a VPC Lattice", "an ALB"."""
    name = BACKEND_NAMES[backend]
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def _check_finalize(spec: WeightShiftSpec) -> None:
    backend, finalize = spec.route_backend, spec.finalize
    if finalize.deleteStableNode and backend != "appmesh":
        raise InvalidRolloutInput("finalize.deleteStableNode", f"applies to App Mesh; on {backend} use deleteStableTargetGroup")
    if finalize.deleteStableTargetGroup and backend == "appmesh":
        raise InvalidRolloutInput(
            "finalize.deleteStableTargetGroup", "applies to VPC Lattice and ALB; on App Mesh use deleteStableNode"
        )
    for field in ("deleteStableNode", "deleteStableTargetGroup"):
        if getattr(finalize, field) and not finalize.removeStableTarget:
            raise InvalidRolloutInput(f"finalize.{field}", "needs removeStableTarget: a target still on the route cannot go")
    if finalize.scaleStableServiceToZero and finalize.stableEcsService is None and backend == "appmesh":
        raise InvalidRolloutInput("finalize.stableEcsService", "is required when scaleStableServiceToZero is true")


def _check_release(spec: WeightShiftSpec) -> None:
    if spec.imageDefinitions is not None and spec.canaryImage is not None:
        raise InvalidRolloutInput("canaryImage", "give imageDefinitions or canaryImage, not both")
    if spec.canaryContainer is not None and spec.canaryImage is None:
        raise InvalidRolloutInput("canaryContainer", "only applies with canaryImage")
    releasing = spec.imageDefinitions is not None or spec.canaryImage is not None
    if releasing and spec.canaryEcsService is None and spec.route_backend == "appmesh":
        raise InvalidRolloutInput("canaryEcsService", "is required to release a new image: the canary's ECS service")


def _check_alternate(spec: WeightShiftSpec) -> None:
    """alternate keeps both target groups on the route (0/100) so that the next release goes to the idle one; an
    ending that takes the stable off, or a service fixed to one group, would break the turn-taking."""
    if not spec.alternate:
        return
    if spec.route_backend == "appmesh":
        raise InvalidRolloutInput("alternate", "applies to VPC Lattice and ALB routes (two target groups that take turns)")
    finalize = spec.finalize
    for field in ("deleteStableTargetGroup", "scaleStableServiceToZero"):
        if getattr(finalize, field):
            raise InvalidRolloutInput(f"finalize.{field}", "retires the stable, which alternate keeps for the next release")
    if "removeStableTarget" in finalize.model_fields_set and finalize.removeStableTarget:
        raise InvalidRolloutInput(
            "finalize.removeStableTarget", "must be false with alternate: both target groups stay on the route (0/100)"
        )
    if finalize.stableEcsService is not None:
        raise InvalidRolloutInput("finalize.stableEcsService", "is found from the target groups with alternate: leave it out")
    if spec.canaryEcsService is not None:
        raise InvalidRolloutInput(
            "canaryEcsService", "is found from the idle target group with alternate (the roles swap each release): leave it out"
        )
    if spec.mode == "increment":
        raise InvalidRolloutInput("mode", "alternate decides the roles from a route at rest; give mode plan")


def check_compare(spec: WeightShiftSpec) -> None:
    """healthGate.compare: marginalScore at most passScore, each metric a preset or a MetricStat template."""
    compare = spec.healthGate.compare
    if compare is None:
        return
    if compare.marginalScore > compare.passScore:
        raise InvalidRolloutInput(
            "healthGate.compare.marginalScore", f"{compare.marginalScore} is above passScore {compare.passScore}"
        )
    queries: Any = input_shape("cloudwatch", "GetMetricData").members["MetricDataQueries"]
    metric_stat = queries.member.members["MetricStat"]
    for index, metric in enumerate(compare.metrics):
        where = f"healthGate.compare.metrics[{index}]"
        if (metric.preset is None) == (metric.metricStat is None):
            raise InvalidRolloutInput(where, "give a preset (errorRate, latency) or a metricStat template, one of them")
        if metric.preset is not None and spec.route_backend == "appmesh":
            raise InvalidRolloutInput(
                f"{where}.preset", "App Mesh publishes no metrics per virtual node: give a metricStat template"
            )
        for key in ("metricStat", "divideBy"):
            value = getattr(metric, key)
            problems = model_problems(value, metric_stat, f"{where}.{key}") if value is not None else []
            if problems:
                raise InvalidRolloutInput.of(problems)


def check_metrics(metrics: list[MetricCheck]) -> None:
    """Each metricStat / divideBy against CloudWatch's own MetricStat shape."""
    queries: Any = input_shape("cloudwatch", "GetMetricData").members["MetricDataQueries"]
    metric_stat = queries.member.members["MetricStat"]
    for index, metric in enumerate(metrics):
        for key in ("metricStat", "divideBy"):
            value = getattr(metric, key)
            problems = model_problems(value, metric_stat, f"healthGate.metrics[{index}].{key}") if value is not None else []
            if problems:
                raise InvalidRolloutInput.of(problems)


# check_spec's rules after the route's, in the order their problems are listed; those that need no backend also
# run when the route's fields are wrong
RULES_WITHOUT_A_ROUTE = (_check_stable_and_canary, _check_steps, _check_approval, _check_gate_metrics)
RULES = (
    *RULES_WITHOUT_A_ROUTE,
    _check_finalize,
    _check_release,
    check_compare,
    _check_presets_on_app_mesh,
    _check_alternate,
)
