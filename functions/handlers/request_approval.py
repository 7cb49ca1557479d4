"""RequestApproval: tell approvers (SNS) what waits for them; the execution waits on its task token.

The token stays in the execution's history, where `mesh-rollout approve|reject` finds it with IAM
credentials; it is never logged or published.
"""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.request_approval import RequestApprovalEvent
from mesh_rollout.grouping.finish import request_approval as group_approval
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.weight_shift import ApprovalRequested, request_approval


# log_event=False even if POWERTOOLS_LOGGER_LOG_EVENT is set: the event carries the task token.
@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> ApprovalRequested:
    request = RequestApprovalEvent.parse(event)
    ask = group_approval if "legs" in request.item else request_approval
    result = ask(
        client("sns"),
        os.environ["NOTIFICATION_TOPIC_ARN"],
        client("cloudwatch"),
        client("ecs"),
        request.executionArn or "",
        request.item,
    )
    logger.info("approval requested", extra=result)
    metrics.add_metric(name="ApprovalsRequested", unit="Count", value=1)
    return result
