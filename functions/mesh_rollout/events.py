"""Handler event shapes: what each state of the state machines passes to its Lambda function."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class HandlerEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    executionArn: StrictStr | None = None


class ValidateRolloutEvent(HandlerEvent):
    rollout: Any


class EnsureMeshEvent(HandlerEvent):
    """The mesh, or one virtual service (as a provider-less placeholder, or with its final spec)."""

    kind: Literal["mesh", "virtualService"]
    request: dict[str, Any]
    placeholder: StrictBool = False


class EnsureVirtualNodeEvent(HandlerEvent):
    request: dict[str, Any]


class EnsureRouterEvent(HandlerEvent):
    kind: Literal["virtualRouter", "route"]
    request: dict[str, Any]


class RegisterTaskDefinitionEvent(HandlerEvent):
    index: StrictInt = Field(ge=0)
    target: dict[str, Any]


class ServiceRevisionEvent(HandlerEvent):
    cluster: StrictStr = Field(min_length=1)
    service: StrictStr = Field(min_length=1)
    taskDefinition: StrictStr = Field(min_length=1)


class UpdateServiceEvent(ServiceRevisionEvent):
    """With `vpcLatticeConfigurations` (ECS's own shape), the service is also attached to those target groups."""

    vpcLatticeConfigurations: list[dict[str, Any]] | None = None


class DeploymentHealthEvent(ServiceRevisionEvent):
    checks: StrictInt = Field(default=0, ge=0)
    maxChecks: StrictInt = Field(default=120, ge=1)


class RollbackServiceEvent(ServiceRevisionEvent):
    """taskDefinition is the revision whose deployment failed; previousTaskDefinition is restored."""

    previousTaskDefinition: StrictStr = Field(min_length=1)
    verdict: dict[str, Any]


# --- WeightShiftStateMachine ------------------------------------------------------------------------


class PlanWeightShiftEvent(HandlerEvent):
    rollout: Any


class AcquireRouteLockEvent(HandlerEvent):
    lockId: StrictStr = Field(min_length=1)
    seconds: StrictInt = Field(ge=60)


class RouteEvent(HandlerEvent):
    """A route (as PlanWeightShift returned it) and the two targets being shifted."""

    route: dict[str, Any]
    stable: StrictStr = Field(min_length=1)
    canary: StrictStr = Field(min_length=1)


class SnapshotRouteEvent(RouteEvent):
    action: Literal["snapshot"]
    plannedWeights: dict[str, StrictInt]


class ApplyStepEvent(RouteEvent):
    action: Literal["apply"]
    snapshot: dict[str, Any]
    step: dict[str, Any]
    lockId: StrictStr = Field(min_length=1)  # the write is fenced by this execution holding it
    decision: dict[str, Any] | None = None
    approvalRequested: dict[str, Any] | None = None


class RestoreRouteEvent(RouteEvent):
    action: Literal["restore"]
    snapshot: dict[str, Any]
    steps: list[dict[str, Any]]
    mode: Literal["plan", "increment"]
    lockId: StrictStr = Field(min_length=1)
    finalize: dict[str, Any] | None = None  # the plan's: finalize's own write counts as this rollout's


class CanaryHealthEvent(HandlerEvent):
    healthGate: dict[str, Any]
    windowSeconds: StrictInt = Field(ge=0)
    checks: StrictInt = Field(default=0, ge=0)


class RequestApprovalEvent(HandlerEvent):
    """taskToken is required by .waitForTaskToken; it is never logged, published or used here."""

    taskToken: StrictStr = Field(min_length=1, repr=False)
    item: dict[str, Any]


class FinalizeCanaryEvent(RouteEvent):
    finalize: dict[str, Any]
    snapshot: dict[str, Any]  # where a write that lost the lock is undone to
    lockId: StrictStr = Field(min_length=1)


class FinishRolloutEvent(HandlerEvent):
    route: dict[str, Any]
    lockId: StrictStr
    locked: StrictBool
    outcome: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["plan", "increment"] = "plan"
    canary: StrictStr | None = None


class ExecutionStatusDetail(BaseModel):
    """The `detail` of EventBridge's "Step Functions Execution Status Change" event (the fields used)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    executionArn: StrictStr
    stateMachineArn: StrictStr
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    error: StrictStr | None = None
    cause: StrictStr | None = None


class ExecutionStatusChangeEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    source: Literal["aws.states"]
    detail: ExecutionStatusDetail


class RegisterReleaseEvent(HandlerEvent):
    release: dict[str, Any]


# --- LatticeRolloutStateMachine -----------------------------------------------------------------------


class PlanLatticeRolloutEvent(HandlerEvent):
    rollout: Any


class EnsureLatticeEvent(HandlerEvent):
    """One step of converging the topology: the service network, every target group, or one service."""

    kind: Literal["network", "targetGroups", "service"]
    network: dict[str, Any] | None = None
    targetGroups: list[dict[str, Any]] | None = None
    service: dict[str, Any] | None = None
    networkId: StrictStr | None = None
    groupIds: dict[str, str] | None = None
    hostedZones: dict[str, str] | None = None


class RegisterLatticeTaskDefinitionEvent(HandlerEvent):
    """One ECS service of the plan (`ecsServices[]`), its target group's ARN and the ECS infrastructure role."""

    target: dict[str, Any]
    targetGroupArns: dict[str, str]
    roleArn: StrictStr = Field(min_length=20)
