"""ShiftTraffic (WeightShiftStateMachine): one model per action."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events.group import LegsEvent
from mesh_rollout.events.route import RouteEvent
from mesh_rollout.shapes import field


class SnapshotRouteEvent(RouteEvent):
    action: Literal["snapshot"]
    plannedWeights: dict[str, int]


class ApplyStepEvent(RouteEvent):
    action: Literal["apply"]
    snapshot: dict[str, Any]
    step: dict[str, Any]
    lockId: str = field(min_length=1)  # the write is fenced by this execution holding it
    decision: dict[str, Any] | None = None
    approvalRequested: dict[str, Any] | None = None


class RestoreRouteEvent(RouteEvent):
    action: Literal["restore"]
    snapshot: dict[str, Any]
    steps: list[dict[str, Any]]
    mode: Literal["plan", "increment"]
    lockId: str = field(min_length=1)
    finalize: dict[str, Any] | None = None  # the plan's: finalize's own write counts as this rollout's


class SnapshotLegsEvent(LegsEvent):
    """A group: every leg's route."""

    action: Literal["snapshotLegs"]


class ApplyLegsEvent(LegsEvent):
    """A group: every leg to its weights at the group's step, wave by wave."""

    action: Literal["applyLegs"]
    waves: list[list[int]]
    step: dict[str, Any]  # the group's step: index, percent, approval
    decision: dict[str, Any] | None = None
    approvalRequested: dict[str, Any] | None = None


class RestoreLegsEvent(LegsEvent):
    """A group: every leg back to its snapshot, the last wave first."""

    action: Literal["restoreLegs"]
    rollbackWaves: list[list[int]]
