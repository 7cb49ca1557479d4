"""FinalizeCanary: at 100%, retire the stable version (route target; opt-in: ECS service to 0, virtual node)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.finalize_canary import FinalizeCanaryEvent, FinalizeLegsEvent
from mesh_rollout.grouping.legs import GroupFinalized, finalize_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.weight_shift import CanaryFinalized, finalize_canary


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> CanaryFinalized | GroupFinalized:
    if "legs" in event:
        group = FinalizeLegsEvent.parse(event)
        dynamodb, table, owner = client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], group.executionArn or ""
        finalized = finalize_legs(
            group.leg_dicts(), group.waves, client("ecs"), lambda leg: LockFence(dynamodb, table, leg["lockId"], owner)
        )
        logger.info("group finalized", extra=finalized)
        metrics.add_metric(name="CanariesFinalized", unit="Count", value=len(group.legs))
        return finalized
    request = FinalizeCanaryEvent.parse(event)
    fence = LockFence(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], request.lockId, request.executionArn or "")
    result = finalize_canary(
        request.route,
        request.snapshot,
        request.stable,
        request.canary,
        request.finalize,
        client("ecs"),
        fence,
    )
    logger.info("canary finalized", extra=result)
    metrics.add_metric(name="CanariesFinalized", unit="Count", value=1)
    return result
