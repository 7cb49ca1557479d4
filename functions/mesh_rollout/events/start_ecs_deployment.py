"""StartEcsDeployment (EcsDeploymentStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.group import wave_of
from mesh_rollout.shapes import field


class StartEcsDeploymentEvent(HandlerEvent):
    """taskDefinition: RegisterRelease's new revision when the plan has images; executionArn: the lock's owner."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    plan: dict[str, Any]
    taskDefinition: str | None = field(default=None, min_length=1)


class StartEcsLegsEvent(HandlerEvent):
    """A group's ECS legs (grouping.plan.EcsLegPlan), each deployment started once."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    action: Literal["startLegs"]
    ecsLegs: list[dict[str, Any]]
    only: list[int] | None = None  # the wave's ECS legs (indexes into ecsLegs); None: every one

    def wave(self) -> list[dict[str, Any]]:
        return wave_of(self.ecsLegs, self.only)
