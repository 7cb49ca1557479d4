"""ShiftTraffic (WeightShiftStateMachine): one model per action."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr

from mesh_rollout.events.route import RouteEvent


class SnapshotRouteEvent(RouteEvent):
    action: Literal["snapshot"]
    plannedWeights: dict[str, StrictInt]


class ApplyStepEvent(RouteEvent):
    action: Literal["apply"]
    snapshot: dict[str, Any]
    step: dict[str, Any]
    lockId: StrictStr = Field(min_length=1)  # the write is fenced by this execution holding it
    decision: dict[str, Any] | None = None
    approvalRequested: dict[str, Any] | None = None


class RestoreRouteEvent(RouteEvent):
    action: Literal["restore"]
    snapshot: dict[str, Any]
    steps: list[dict[str, Any]]
    mode: Literal["plan", "increment"]
    lockId: StrictStr = Field(min_length=1)
    finalize: dict[str, Any] | None = None  # the plan's: finalize's own write counts as this rollout's
