"""FinalizeCanary (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events.group import LegsEvent
from mesh_rollout.events.route import RouteEvent
from mesh_rollout.shapes import field


class FinalizeCanaryEvent(RouteEvent):
    finalize: dict[str, Any]
    snapshot: dict[str, Any]  # where a write that lost the lock is undone to
    lockId: str = field(min_length=1)


class FinalizeLegsEvent(LegsEvent):
    """A group at 100%: each leg's finalize."""

    waves: list[list[int]]
