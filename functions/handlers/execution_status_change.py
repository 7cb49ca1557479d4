"""ExecutionStatusChange: EventBridge tells us an execution ended (succeeded, failed, aborted or timed out).

StopExecution and execution timeouts run no Catch, so a stopped weight shift would leave its weights,
its canary's new revision and its lock behind: this restores the snapshot (if the route still shows this
rollout's weights), puts the canary service back on the revision it ran before, and releases the lock, as it
releases a lock a finished shift could not. A restore that fails raises, so Lambda retries it, and keeps the
lock meanwhile. Every outcome is published once, readably: not again if the execution published it itself.
"""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.execution_status_change import ExecutionStatusChangeEvent
from mesh_rollout.observability import count_unsent_notification, logger, metrics, tracer
from mesh_rollout.shifting.cleanup import StatusChangeHandled, handle_status_change


@logger.inject_lambda_context(correlation_id_path="detail.executionArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> StatusChangeHandled:
    request = ExecutionStatusChangeEvent.parse(event)
    result = handle_status_change(
        request.detail.as_dict(),
        client("stepfunctions"),
        client("dynamodb"),
        os.environ["ROUTE_LOCK_TABLE"],
        client("sns"),
        os.environ["NOTIFICATION_TOPIC_ARN"],
        os.environ["WEIGHT_SHIFT_STATE_MACHINE_ARN"],
        client("ecs"),
        os.environ.get("ECS_DEPLOYMENT_STATE_MACHINE_ARN", ""),
    )
    logger.info("execution ended", extra=result)
    metrics.add_metric(name=f"Executions{request.detail.status.title().replace('_', '')}", unit="Count", value=1)
    count_unsent_notification(result, "notification not sent")
    return result
