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


class DeploymentHealthEvent(ServiceRevisionEvent):
    checks: StrictInt = Field(default=0, ge=0)
    maxChecks: StrictInt = Field(default=120, ge=1)


class RollbackServiceEvent(ServiceRevisionEvent):
    """taskDefinition is the revision whose deployment failed; previousTaskDefinition is restored."""

    previousTaskDefinition: StrictStr = Field(min_length=1)
    verdict: dict[str, Any]
