"""EcsDeploymentStatus: where ECS's deployment stands (one DescribeServiceDeployments) and whether our pause waits."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.deploying.records import EcsDeploymentRecord
from mesh_rollout.deploying.status import read_deployment
from mesh_rollout.events.ecs_deployment_status import EcsDeploymentStatusEvent, EcsLegsStatusEvent
from mesh_rollout.grouping.ecs_legs import EcsLegsRead, read_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> EcsDeploymentRecord | EcsLegsRead:
    if "ecsLegs" in event:  # a group's ECS legs against its step (grouping.ecs_legs)
        group = EcsLegsStatusEvent.parse(event)
        dynamodb, table = client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"]
        found = read_legs(
            client("ecs"), dynamodb, table, group.wave(), group.executionArn, group.percent, group.polls, group.mode
        )
        logger.info("ECS legs read", extra={"state": found["state"], "summary": found["summary"]})
        return found
    request = EcsDeploymentStatusEvent.parse(event)
    result = read_deployment(client("ecs"), request.plan, request.ecs)
    logger.info("ECS deployment read", extra={k: result[k] for k in ("state", "stage", "status", "pause", "polls")})
    metrics.add_metric(name=f"EcsDeployment{result['state'].title().replace('_', '')}", unit="Count", value=1)
    return result
