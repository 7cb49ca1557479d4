"""RegisterLatticeTaskDefinition (LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from mesh_rollout.events import HandlerEvent


class RegisterLatticeTaskDefinitionEvent(HandlerEvent):
    """One ECS service of the plan (`ecsServices[]`), its target group's ARN and the ECS infrastructure role."""

    target: dict[str, Any]
    targetGroupArns: dict[str, str]
    roleArn: StrictStr = Field(min_length=20)
