"""AcquireRouteLock (WeightShiftStateMachine)."""

from __future__ import annotations

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class AcquireRouteLockEvent(HandlerEvent):
    lockId: str = field(min_length=1)
    seconds: int = field(ge=60)


class AcquireGroupLocksEvent(HandlerEvent):
    """A group: every leg's lock, all or none."""

    lockIds: list[str]
    seconds: int = field(ge=60)
