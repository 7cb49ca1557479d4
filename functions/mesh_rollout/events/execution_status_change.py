"""ExecutionStatusChange: EventBridge's "Step Functions Execution Status Change" event (not a state's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictStr


class ExecutionStatusDetail(BaseModel):
    """The `detail` of EventBridge's "Step Functions Execution Status Change" event (the fields used)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    executionArn: StrictStr
    stateMachineArn: StrictStr
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    error: StrictStr | None = None
    cause: StrictStr | None = None


class ExecutionStatusChangeEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    source: Literal["aws.states"]
    detail: ExecutionStatusDetail
