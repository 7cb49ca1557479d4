"""FinalizeCanary: at 100%, each leg retires its stable version (route target; opt-in: ECS service to 0, virtual node
or target group)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.finalize_canary import FinalizeLegsEvent
from mesh_rollout.grouping.legs import GroupFinalized, finalize_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.lock import LockFence


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> GroupFinalized:
    group = FinalizeLegsEvent.parse(event)
    dynamodb, table, owner = client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], group.executionArn or ""
    finalized = finalize_legs(
        group.leg_dicts(), group.waves, client("ecs"), lambda leg: LockFence(dynamodb, table, leg["lockId"], owner)
    )
    logger.info("canaries finalized", extra=finalized)
    metrics.add_metric(name="CanariesFinalized", unit="Count", value=len(group.legs))
    return finalized
