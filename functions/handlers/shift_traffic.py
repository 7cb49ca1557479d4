"""ShiftTraffic: snapshot a route, apply one canary step (drift-checked, fenced by the lock) or restore the snapshot."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.shift_traffic import ApplyStepEvent, RestoreRouteEvent, SnapshotRouteEvent
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

ACTIONS: dict[str, type[SnapshotRouteEvent | ApplyStepEvent | RestoreRouteEvent]] = {
    "snapshot": SnapshotRouteEvent,
    "apply": ApplyStepEvent,
    "restore": RestoreRouteEvent,
}


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> RouteSnapshot | StepApplied | RouteRestored:
    model: type[SnapshotRouteEvent | ApplyStepEvent | RestoreRouteEvent] = ACTIONS.get(
        str(event.get("action")), SnapshotRouteEvent
    )
    request = model.parse(event)
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
