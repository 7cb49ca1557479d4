"""PlanWeightShift (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class PlanWeightShiftEvent(HandlerEvent):
    rollout: Any
