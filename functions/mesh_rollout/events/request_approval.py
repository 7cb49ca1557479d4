"""RequestApproval (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class RequestApprovalEvent(HandlerEvent):
    """taskToken is required by .waitForTaskToken; it is never logged, published or used here."""

    taskToken: str = field(min_length=1, repr=False)
    item: dict[str, Any]
