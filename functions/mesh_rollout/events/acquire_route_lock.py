"""AcquireRouteLock (WeightShiftStateMachine)."""

from __future__ import annotations

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class AcquireRouteLockEvent(HandlerEvent):
    lockId: str = field(min_length=1)
    seconds: int = field(ge=60)
