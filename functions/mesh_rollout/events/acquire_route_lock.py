"""AcquireRouteLock (WeightShiftStateMachine)."""

from __future__ import annotations

from pydantic import Field, StrictInt, StrictStr

from mesh_rollout.events import HandlerEvent


class AcquireRouteLockEvent(HandlerEvent):
    lockId: StrictStr = Field(min_length=1)
    seconds: StrictInt = Field(ge=60)
