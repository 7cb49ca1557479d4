"""FinishEcsDeployment (EcsDeploymentStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class FinishEcsDeploymentEvent(HandlerEvent):
    """plan and ecs are absent when the execution failed before having them; outcome: {"status": SUCCEEDED|FAILED,
    "error"?, "cause"?}."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    plan: dict[str, Any] | None = None
    ecs: dict[str, Any] | None = None
    locked: bool
    outcome: dict[str, Any] = field(default_factory=dict)
