"""EcsDeploymentStatus (EcsDeploymentStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class EcsDeploymentStatusEvent(HandlerEvent):
    plan: dict[str, Any]
    ecs: dict[str, Any]
