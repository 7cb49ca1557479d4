"""FinishEcsDeployment: on every way out, release the service's lock and publish how the deployment ended."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.deploying.finish import EcsDeploymentFinished, finish
from mesh_rollout.events.finish_ecs_deployment import FinishEcsDeploymentEvent
from mesh_rollout.observability import CORRELATION_PATH, count_unsent_notification, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> EcsDeploymentFinished:
    request = FinishEcsDeploymentEvent.parse(event)
    result = finish(
        client("dynamodb"),
        os.environ["ROUTE_LOCK_TABLE"],
        client("sns"),
        os.environ["NOTIFICATION_TOPIC_ARN"],
        request.executionArn,
        request.as_dict(),
    )
    logger.info("ECS deployment finished", extra={k: v for k, v in result.items() if k != "steps"})
    count_unsent_notification(result)
    metrics.add_metric(
        name="EcsDeploymentsSucceeded" if result["outcome"] == "SUCCEEDED" else "EcsDeploymentsFailed", unit="Count", value=1
    )
    return result
