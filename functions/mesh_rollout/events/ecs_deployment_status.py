"""EcsDeploymentStatus (EcsDeploymentStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.group import wave_of
from mesh_rollout.shapes import field


class EcsDeploymentStatusEvent(HandlerEvent):
    plan: dict[str, Any]
    ecs: dict[str, Any]


class EcsLegsStatusEvent(HandlerEvent):
    """A group's ECS legs against its step: held at the step (step), SUCCESSFUL (complete), rolled back (rollback)."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    ecsLegs: list[dict[str, Any]]
    only: list[int] | None = None  # the wave's ECS legs (indexes into ecsLegs); None: every one
    percent: int = field(default=0, ge=0)
    polls: int = field(default=0, ge=0)
    mode: Literal["step", "complete", "rollback"] = "step"

    def wave(self) -> list[dict[str, Any]]:
        return wave_of(self.ecsLegs, self.only)
