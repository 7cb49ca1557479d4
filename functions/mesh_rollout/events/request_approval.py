"""RequestApproval (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from mesh_rollout.events import HandlerEvent


class RequestApprovalEvent(HandlerEvent):
    """taskToken is required by .waitForTaskToken; it is never logged, published or used here."""

    taskToken: StrictStr = Field(min_length=1, repr=False)
    item: dict[str, Any]
