"""FinishRollout (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class FinishGroupEvent(HandlerEvent):
    """A group (a route alone is the group of one leg it is): its state as the state machine hands it over
    (grouping.finish works the outcome out of it)."""

    state: dict[str, Any]
