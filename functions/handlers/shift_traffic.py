"""ShiftTraffic: snapshot every leg's route, apply one step (each write drift-checked, fenced by the leg's lock) or
restore the snapshots (grouping.legs); a route alone is the group of one leg it is."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.shift_traffic import ApplyLegsEvent, RestoreLegsEvent, SnapshotLegsEvent
from mesh_rollout.grouping.legs import (
    GroupRestored,
    GroupStepApplied,
    LegsSnapshotted,
    apply_legs,
    drifted_route,
    restore_legs,
    snapshot_legs,
)
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.weight_shift import approval_wait_seconds

Request = SnapshotLegsEvent | ApplyLegsEvent | RestoreLegsEvent
ACTIONS: dict[str, type[Request]] = {
    "snapshotLegs": SnapshotLegsEvent,
    "applyLegs": ApplyLegsEvent,
    "restoreLegs": RestoreLegsEvent,
}


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> LegsSnapshotted | GroupStepApplied | GroupRestored:
    """A snapshot, a step or a rollback of every leg, each fenced by its own lock (an unknown action is refused at
    `action`, as the snapshot's model names it)."""
    request = ACTIONS.get(str(event.get("action")), SnapshotLegsEvent).parse(event)
    legs = request.leg_dicts()
    if isinstance(request, SnapshotLegsEvent):
        metrics.add_metric(name="RouteSnapshots", unit="Count", value=len(legs))
        return snapshot_legs(legs)
    dynamodb, table, owner = client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], request.executionArn or ""

    def fence_of(leg: Any) -> LockFence:
        return LockFence(dynamodb, table, leg["lockId"], owner)

    if isinstance(request, ApplyLegsEvent):
        moved = apply_legs(legs, request.waves, request.step, fence_of)
        logger.info("step applied", extra={"percent": moved["percent"], "legs": moved["legs"]})
        metrics.add_metric(name="RolloutStepsApplied", unit="Count", value=sum(1 for leg in moved["legs"] if leg["changed"]))
        waited = approval_wait_seconds(request.approvalRequested, request.decision)
        if waited is not None:
            metrics.add_metric(name="ApprovalWaitTime", unit="Seconds", value=waited)
        return moved
    restored = restore_legs(legs, request.rollbackWaves, fence_of, drifted=drifted_route(request.failure))
    logger.warning("rolled back", extra={"legs": restored["legs"]})
    metrics.add_metric(name="RouteRollbacks", unit="Count", value=sum(1 for leg in restored["legs"] if leg["restored"]))
    return restored
