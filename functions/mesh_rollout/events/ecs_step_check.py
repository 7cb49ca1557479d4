"""EcsStepCheck (EcsDeploymentStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class EcsStepCheckEvent(HandlerEvent):
    plan: dict[str, Any]
    ecs: dict[str, Any]
    checks: int = field(default=0, ge=0)
