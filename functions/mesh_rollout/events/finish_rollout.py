"""FinishRollout (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictStr

from mesh_rollout.events import HandlerEvent


class FinishRolloutEvent(HandlerEvent):
    route: dict[str, Any]
    lockId: StrictStr
    locked: StrictBool
    outcome: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["plan", "increment"] = "plan"
    canary: StrictStr | None = None
