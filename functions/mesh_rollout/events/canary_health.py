"""CanaryHealth (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt

from mesh_rollout.events import HandlerEvent


class CanaryHealthEvent(HandlerEvent):
    healthGate: dict[str, Any]
    windowSeconds: StrictInt = Field(ge=0)
    checks: StrictInt = Field(default=0, ge=0)
