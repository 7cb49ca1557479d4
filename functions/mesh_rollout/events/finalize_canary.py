"""FinalizeCanary (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from mesh_rollout.events.route import RouteEvent


class FinalizeCanaryEvent(RouteEvent):
    finalize: dict[str, Any]
    snapshot: dict[str, Any]  # where a write that lost the lock is undone to
    lockId: StrictStr = Field(min_length=1)
