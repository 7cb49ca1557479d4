"""StartEcsDeployment: ECS's own deployment of the plan's revision (UpdateService), once, under the service's lock."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.deploying.records import EcsDeploymentRecord
from mesh_rollout.deploying.start import start_deployment
from mesh_rollout.events.start_ecs_deployment import StartEcsDeploymentEvent, StartEcsLegsEvent
from mesh_rollout.grouping.ecs_legs import EcsLegsAnswered, start_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> EcsDeploymentRecord | EcsLegsAnswered:
    if event.get("action") == "startLegs":  # a group's ECS legs (grouping.ecs_legs)
        group = StartEcsLegsEvent.parse(event)
        started = start_legs(client("ecs"), client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], group.wave(), group.executionArn)
        logger.info("ECS legs started", extra=started)
        metrics.add_metric(name="EcsDeploymentsStarted", unit="Count", value=len(group.wave()))
        return started
    request = StartEcsDeploymentEvent.parse(event)
    result = start_deployment(
        client("ecs"),
        client("dynamodb"),
        os.environ["ROUTE_LOCK_TABLE"],
        request.plan,
        request.executionArn,
        request.taskDefinition,
    )
    logger.info("ECS deployment started", extra=result)
    metrics.add_metric(name="EcsDeploymentsStarted", unit="Count", value=1)
    return result
