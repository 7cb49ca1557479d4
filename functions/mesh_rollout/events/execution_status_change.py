"""ExecutionStatusChange: EventBridge's "Step Functions Execution Status Change" event (not a state's)."""

from __future__ import annotations

from typing import Literal

from mesh_rollout.shapes import Shape


class ExecutionStatusDetail(Shape):
    """The `detail` of EventBridge's "Step Functions Execution Status Change" event (the fields used; the others are
    kept: as_dict() has them)."""

    unknown = "allow"
    executionArn: str
    stateMachineArn: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    error: str | None = None
    cause: str | None = None


class ExecutionStatusChangeEvent(Shape):
    unknown = "allow"
    source: Literal["aws.states"]
    detail: ExecutionStatusDetail
