"""RegisterLatticeTaskDefinition (LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class RegisterLatticeTaskDefinitionEvent(HandlerEvent):
    """One ECS service of the plan (`ecsServices[]`), its target group's ARN and the ECS infrastructure role."""

    target: dict[str, Any]
    targetGroupArns: dict[str, str]
    roleArn: str = field(min_length=20)
