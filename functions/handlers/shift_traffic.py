"""ShiftTraffic: snapshot a route, apply one canary step (drift-checked, fenced by the lock) or restore the snapshot;
for a group, the same for every leg (grouping.legs)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.shift_traffic import (
    ApplyLegsEvent,
    ApplyStepEvent,
    RestoreLegsEvent,
    RestoreRouteEvent,
    SnapshotLegsEvent,
    SnapshotRouteEvent,
)
from mesh_rollout.grouping.legs import GroupRestored, GroupStepApplied, LegsSnapshotted, apply_legs, restore_legs, snapshot_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.weight_shift import (
    RouteRestored,
    RouteSnapshot,
    StepApplied,
    apply_step,
    approval_wait_seconds,
    restore_route,
    take_snapshot,
)

Request = SnapshotRouteEvent | ApplyStepEvent | RestoreRouteEvent
GroupRequest = SnapshotLegsEvent | ApplyLegsEvent | RestoreLegsEvent
ACTIONS: dict[str, type[Request | GroupRequest]] = {
    "snapshot": SnapshotRouteEvent,
    "apply": ApplyStepEvent,
    "restore": RestoreRouteEvent,
    "snapshotLegs": SnapshotLegsEvent,
    "applyLegs": ApplyLegsEvent,
    "restoreLegs": RestoreLegsEvent,
}
Result = RouteSnapshot | StepApplied | RouteRestored | LegsSnapshotted | GroupStepApplied | GroupRestored


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Result:
    request = ACTIONS.get(str(event.get("action")), SnapshotRouteEvent).parse(event)
    if isinstance(request, SnapshotLegsEvent | ApplyLegsEvent | RestoreLegsEvent):
        return _group(request)
    if isinstance(request, SnapshotRouteEvent):
        metrics.add_metric(name="RouteSnapshots", unit="Count", value=1)
        return take_snapshot(request.route, request.plannedWeights)
    fence = LockFence(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], request.lockId, request.executionArn or "")
    if isinstance(request, ApplyStepEvent):
        result = apply_step(request.route, request.snapshot, request.step, fence)
        logger.info("canary step applied", extra=result)
        metrics.add_metric(name="RolloutStepsApplied", unit="Count", value=1 if result["changed"] else 0)
        waited = approval_wait_seconds(request.approvalRequested, request.decision)
        if waited is not None:
            metrics.add_metric(name="ApprovalWaitTime", unit="Seconds", value=waited)
        return result
    restored = restore_route(
        request.route, request.snapshot, request.stable, request.canary, request.steps, request.mode, fence, request.finalize
    )
    logger.warning("route rolled back", extra=restored)
    metrics.add_metric(name="RouteRollbacks", unit="Count", value=1 if restored["restored"] else 0)
    return restored


def _group(request: GroupRequest) -> LegsSnapshotted | GroupStepApplied | GroupRestored:
    """A group's snapshot, step or rollback: every leg, each fenced by its own lock."""
    legs = request.leg_dicts()
    if isinstance(request, SnapshotLegsEvent):
        metrics.add_metric(name="RouteSnapshots", unit="Count", value=len(legs))
        return snapshot_legs(legs)
    dynamodb, table, owner = client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], request.executionArn or ""

    def fence_of(leg: Any) -> LockFence:
        return LockFence(dynamodb, table, leg["lockId"], owner)

    if isinstance(request, ApplyLegsEvent):
        moved = apply_legs(legs, request.waves, request.step, fence_of)
        logger.info("group step applied", extra={"percent": moved["percent"], "legs": moved["legs"]})
        metrics.add_metric(name="RolloutStepsApplied", unit="Count", value=sum(1 for leg in moved["legs"] if leg["changed"]))
        waited = approval_wait_seconds(request.approvalRequested, request.decision)
        if waited is not None:
            metrics.add_metric(name="ApprovalWaitTime", unit="Seconds", value=waited)
        return moved
    restored = restore_legs(legs, request.rollbackWaves, fence_of)
    logger.warning("group rolled back", extra={"legs": restored["legs"]})
    metrics.add_metric(name="RouteRollbacks", unit="Count", value=sum(1 for leg in restored["legs"] if leg["restored"]))
    return restored
