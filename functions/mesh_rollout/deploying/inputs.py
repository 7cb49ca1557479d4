"""The EcsDeploymentStateMachine input and its checks that need no AWS call (pure).

AWS's own names: `cluster`, `service`, the new revision as `taskDefinition` or CodePipeline's `imageDefinitions`
(or, in gate mode, the running `serviceDeploymentArn`), UpdateService's `deploymentConfiguration` limited to the
members that choose the strategy, and the weight shift's `healthGate` and `approval`.
Ranges: API_LinearConfiguration.html, API_CanaryConfiguration.html, API_DeploymentConfiguration.html
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from mesh_rollout.errors import InvalidRolloutInput, check_all
from mesh_rollout.parsing import Strict, parse_input
from mesh_rollout.shifting.inputs import (
    Approval,
    HealthGate,
    ImageDefinition,
    Name,
    WeightShiftSpec,
    check_compare,
    check_metrics,
)

Number = StrictInt | StrictFloat
# bakes: 0-1440 minutes (API_LinearConfiguration.html, API_CanaryConfiguration.html); bakeTimeInMinutes' own range
# is not documented, taken as the same (ecs_facts 5.3)
BakeMinutes = Annotated[StrictInt, Field(ge=0, le=1440)]
GATED_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
# A PAUSE hook waits at most 20160 minutes (DeploymentLifecycleHookDuration; DG pause-lifecycle-hooks.html)
MAX_HOOK_TIMEOUT_MINUTES = 20160
SERVICE_DEPLOYMENT_ARN = r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service-deployment/[^/]+/[^/]+/[^/]+$"


class LinearConfiguration(Strict):
    """stepPercent: multiples of 0.1 from 3.0 to 100.0; stepBakeTimeInMinutes 0-1440 (API_LinearConfiguration.html)."""

    stepPercent: Number | None = Field(default=None, ge=3.0, le=100.0)
    stepBakeTimeInMinutes: BakeMinutes | None = None


class CanaryConfiguration(Strict):
    """canaryPercent: multiples of 0.1 from 0.1 to 100.0; canaryBakeTimeInMinutes 0-1440 (API_CanaryConfiguration.html)."""

    canaryPercent: Number | None = Field(default=None, ge=0.1, le=100.0)
    canaryBakeTimeInMinutes: BakeMinutes | None = None


class StrategyConfiguration(Strict):
    """The members of UpdateService's deploymentConfiguration that choose the strategy; the service's own
    deploymentConfiguration gives every other member (hooks, alarms, circuit breaker ...) and is kept."""

    strategy: Literal["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"] | None = None
    linearConfiguration: LinearConfiguration | None = None
    canaryConfiguration: CanaryConfiguration | None = None
    bakeTimeInMinutes: BakeMinutes | None = None


class EcsDeploymentSpec(Strict):
    """Deploy a new revision of one ECS service with ECS's own strategy, each step judged (start mode), or gate a
    deployment already running (gate mode: `serviceDeploymentArn`)."""

    cluster: Name
    service: Name
    taskDefinition: StrictStr | None = Field(default=None, min_length=1, max_length=2048)
    imageDefinitions: list[ImageDefinition] | None = Field(default=None, min_length=1, max_length=10)
    serviceDeploymentArn: StrictStr | None = Field(default=None, pattern=SERVICE_DEPLOYMENT_ARN, max_length=2048)
    deploymentConfiguration: StrategyConfiguration | None = None
    healthGate: HealthGate = Field(default_factory=HealthGate)
    approval: Approval | None = None
    settleSeconds: StrictInt | None = Field(default=None, ge=0, le=3600)
    pollSeconds: StrictInt = Field(default=30, ge=1, le=300)
    hookTimeoutMinutes: StrictInt | None = Field(default=None, ge=1, le=MAX_HOOK_TIMEOUT_MINUTES)
    whenLocked: Literal["fail", "skip"] = "fail"
    dryRun: StrictBool = False  # check everything the deployment would hit, read-only, and report it (deploying/dry_run.py)

    @property
    def mode(self) -> str:
        return "gate" if self.serviceDeploymentArn is not None else "start"


@dataclass(frozen=True)
class GateView:
    """What shifting's gate planners read of a spec (healthGate, route_backend), for an ECS deployment."""

    healthGate: HealthGate
    route_backend: str


def as_weight_shift(spec: EcsDeploymentSpec, backend: str) -> WeightShiftSpec:
    """This spec seen by shifting's gate functions, which read only `healthGate` and `route_backend`."""
    return cast(WeightShiftSpec, GateView(spec.healthGate, backend))


def gate_rechecks_seconds(spec: EcsDeploymentSpec) -> int:
    """The longest the gate can stay PENDING at one pause: its re-checks."""
    return spec.healthGate.recheckSeconds * spec.healthGate.maxPendingChecks


def parse_spec(raw: Any) -> EcsDeploymentSpec:
    """The input as a checked EcsDeploymentSpec: its shape, then the rules between its fields (no AWS call)."""
    spec = parse_input(raw, EcsDeploymentSpec)
    check_spec(spec)
    return spec


def check_spec(spec: EcsDeploymentSpec) -> None:
    """Every rule, every failure in the one error raised (a single failure keeps its own error class)."""
    check_all(RULES, spec)


def tenths(value: float) -> bool:
    """Whether a percent is a multiple of 0.1, as ECS takes them (binary floats: 0.3 is 0.299999...)."""
    return abs(value * 10 - round(value * 10)) < 1e-6


def _check_revision(spec: EcsDeploymentSpec) -> None:
    given = [f for f in ("taskDefinition", "imageDefinitions", "serviceDeploymentArn") if getattr(spec, f) is not None]
    if not given:
        raise InvalidRolloutInput(
            "taskDefinition",
            "name the new revision (taskDefinition, or imageDefinitions), or the running deployment to gate"
            " (serviceDeploymentArn)",
        )
    if len(given) > 1:
        raise InvalidRolloutInput(
            given[-1], f"give one of taskDefinition, imageDefinitions and serviceDeploymentArn, not {given[0]} too"
        )


def _check_deployment_arn(spec: EcsDeploymentSpec) -> None:
    if spec.serviceDeploymentArn is None:
        return
    cluster, service = spec.serviceDeploymentArn.split(":service-deployment/", 1)[1].split("/")[:2]
    if (cluster, service) != (spec.cluster.rsplit("/", 1)[-1], spec.service.rsplit("/", 1)[-1]):
        raise InvalidRolloutInput(
            "serviceDeploymentArn", f"is a deployment of {cluster}/{service}, not of {spec.cluster}/{spec.service}"
        )
    if spec.deploymentConfiguration is not None:
        raise InvalidRolloutInput(
            "deploymentConfiguration",
            "a running deployment keeps the configuration it was started with: leave it out in gate mode",
        )


def _check_strategy(spec: EcsDeploymentSpec) -> None:
    config = spec.deploymentConfiguration
    if config is None:
        return
    if config.strategy == "ROLLING":
        raise InvalidRolloutInput(
            "deploymentConfiguration.strategy",
            "ROLLING shifts no traffic between revisions, so there is no step to gate: use BLUE_GREEN, LINEAR or CANARY",
        )
    linear, canary = config.linearConfiguration, config.canaryConfiguration
    if linear is not None and linear.stepPercent is not None and not tenths(linear.stepPercent):
        raise InvalidRolloutInput(
            "deploymentConfiguration.linearConfiguration.stepPercent", f"{linear.stepPercent} is not a multiple of 0.1"
        )
    if canary is not None and canary.canaryPercent is not None and not tenths(canary.canaryPercent):
        raise InvalidRolloutInput(
            "deploymentConfiguration.canaryConfiguration.canaryPercent", f"{canary.canaryPercent} is not a multiple of 0.1"
        )
    for key, strategy in (("linearConfiguration", "LINEAR"), ("canaryConfiguration", "CANARY")):
        if getattr(config, key) is not None and config.strategy not in (None, strategy):
            raise InvalidRolloutInput(
                f"deploymentConfiguration.{key}",
                f"applies to strategy {strategy}, not {config.strategy} (ECS takes it only then)",
            )


def _check_hook_timeout(spec: EcsDeploymentSpec) -> None:
    """A pause must outlast what we may do at it: the gate's re-checks and the approval (else ECS times it out
    and rolls back while we wait)."""
    needed = gate_rechecks_seconds(spec) + (spec.approval.timeoutSeconds if spec.approval else 0)
    if spec.hookTimeoutMinutes is not None and spec.hookTimeoutMinutes * 60 < needed:
        raise InvalidRolloutInput(
            "hookTimeoutMinutes",
            f"{spec.hookTimeoutMinutes} minutes is shorter than a pause may wait for us ({-(-needed // 60)} minutes:"
            " healthGate re-checks and approval.timeoutSeconds); ECS would roll back at its timeout",
        )
    if spec.approval and needed > MAX_HOOK_TIMEOUT_MINUTES * 60:
        raise InvalidRolloutInput(
            "approval.timeoutSeconds",
            f"with the gate's re-checks a pause would wait {needed} s, past the {MAX_HOOK_TIMEOUT_MINUTES} minutes"
            " an ECS PAUSE hook may last",
        )


def _check_gate(spec: EcsDeploymentSpec) -> None:
    check_metrics(spec.healthGate.metrics)
    check_compare(as_weight_shift(spec, "ecs"))  # its one backend rule is App Mesh's


def _check_gate_services(spec: EcsDeploymentSpec) -> None:
    for index, ref in enumerate(spec.healthGate.ecsServices):
        same = (ref.cluster.rsplit("/", 1)[-1], ref.service.rsplit("/", 1)[-1]) == (
            spec.cluster.rsplit("/", 1)[-1],
            spec.service.rsplit("/", 1)[-1],
        )
        if same:
            raise InvalidRolloutInput(
                f"healthGate.ecsServices[{index}]",
                "is the service being deployed: its deployment is in progress at every pause, so this check would stay"
                " PENDING; ECS's own deployment state is read at each pause anyway",
            )


RULES = (_check_revision, _check_deployment_arn, _check_strategy, _check_hook_timeout, _check_gate, _check_gate_services)
