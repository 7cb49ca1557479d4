"""FinishRollout (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class FinishRolloutEvent(HandlerEvent):
    route: dict[str, Any]
    lockId: str
    locked: bool
    outcome: dict[str, Any] = field(default_factory=dict)
    mode: Literal["plan", "increment"] = "plan"
    canary: str | None = None


class FinishGroupEvent(HandlerEvent):
    """A group: its state as the state machine hands it over (grouping.finish works the outcome out of it)."""

    state: dict[str, Any]
