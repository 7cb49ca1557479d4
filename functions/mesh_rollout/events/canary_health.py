"""CanaryHealth (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events.group import LegsEvent
from mesh_rollout.shapes import field


class LegsHealthEvent(LegsEvent):
    """A group: every leg's gate, one verdict; its ECS legs' at the pause the step holds them at (`percent`)."""

    windowSeconds: int = field(ge=0)
    checks: int = field(default=0, ge=0)
    ecsLegs: list[dict[str, Any]] | None = None
    percent: int = field(default=0, ge=0)
    gate: Literal["healthGate", "preStepGate"] = "healthGate"  # preStepGate: a step-mode tick's, before it moves
