"""FinalizeCanary (WeightShiftStateMachine)."""

from __future__ import annotations

from mesh_rollout.events.group import LegsEvent


class FinalizeLegsEvent(LegsEvent):
    """A group at 100%: each leg's finalize."""

    waves: list[list[int]]
