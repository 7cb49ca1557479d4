"""FinishRollout: on every way out of a weight shift (a group, or a route alone as the group of one leg it is),
release the locks and publish how it ended."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.finish_rollout import FinishGroupEvent
from mesh_rollout.grouping.finish import GroupFinished, RouteFinished, finish_group
from mesh_rollout.observability import CORRELATION_PATH, count_unsent_notification, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> GroupFinished | RouteFinished:
    request = FinishGroupEvent.parse(event)  # the state machine hands over its state; the outcome is worked out here
    result = finish_group(
        client("dynamodb"),
        os.environ["ROUTE_LOCK_TABLE"],
        client("sns"),
        os.environ["NOTIFICATION_TOPIC_ARN"],
        request.executionArn or "",
        request.state,
    )
    logger.info("weight shift finished", extra=result)
    count_unsent_notification(result)
    metrics.add_metric(
        name="WeightShiftsSucceeded" if result["status"] == "SUCCEEDED" else "WeightShiftsFailed", unit="Count", value=1
    )
    return result
