"""AcquireRouteLock: take the route's lock (DynamoDB conditional write with an expiry) or fail RolloutInProgress; for a
group, every leg's lock in one transaction (grouping.locks)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.acquire_route_lock import AcquireGroupLocksEvent, AcquireRouteLockEvent
from mesh_rollout.grouping.locks import GroupLocks, acquire_all
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.lock import LockAcquired
from mesh_rollout.shifting.weight_shift import acquire_lock


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> LockAcquired | GroupLocks:
    if "lockIds" in event:
        group = AcquireGroupLocksEvent.parse(event)
        owner = group.executionArn or context.aws_request_id
        taken = acquire_all(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], group.lockIds, owner, group.seconds)
        metrics.add_metric(name="RouteLocksAcquired", unit="Count", value=len(taken["lockIds"]))
        return taken
    request = AcquireRouteLockEvent.parse(event)
    owner = request.executionArn or context.aws_request_id
    result = acquire_lock(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], request.lockId, owner, request.seconds)
    metrics.add_metric(name="RouteLocksAcquired", unit="Count", value=1)
    return result
