"""EcsDecide (EcsDeploymentStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.group import wave_of
from mesh_rollout.shapes import field


class EcsDecideEvent(HandlerEvent):
    """check: the step's verdict ($.check); reason: why it rolls back (a rejection, an approval timeout)."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    plan: dict[str, Any]
    ecs: dict[str, Any]
    action: Literal["CONTINUE", "ROLLBACK"]
    check: dict[str, Any] | None = None
    reason: str | None = None


class EcsLegsDecideEvent(HandlerEvent):
    """A group's ECS legs: CONTINUE at the pauses ReadEcsLegs found short of the step (`reads`), or ROLLBACK every one."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    action: Literal["CONTINUE", "ROLLBACK"]
    ecsLegs: list[dict[str, Any]]
    only: list[int] | None = None  # the wave's ECS legs (indexes into ecsLegs); None: every one
    reads: list[dict[str, Any]] | None = None

    def wave(self) -> list[dict[str, Any]]:
        return wave_of(self.ecsLegs, self.only)
