"""ShiftTraffic (WeightShiftStateMachine): one model per action, each over every leg (a route alone is a group of one)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events.group import LegsEvent


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
    failure: dict[str, Any] | None = None  # what stopped the group: a RouteDrifted names the leg set by hand
