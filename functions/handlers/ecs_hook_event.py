"""EcsHookEvent: ECS paused a deployment started elsewhere at a stage we gate; start its gate execution, once."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.deploying.hook_events import HookEventHandled, on_hook_event
from mesh_rollout.events.ecs_hook_event import EcsHookEventEvent
from mesh_rollout.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="detail.serviceDeploymentArn")
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> HookEventHandled:
    request = EcsHookEventEvent.parse(event)
    result = on_hook_event(
        request.as_dict(),
        client("stepfunctions"),
        client("dynamodb"),
        os.environ["ROUTE_LOCK_TABLE"],
        os.environ["ECS_DEPLOYMENT_STATE_MACHINE_ARN"],
        client("ssm"),
        client("ecs"),
    )
    logger.info("ECS hook event", extra=result)
    if result["started"]:
        metrics.add_metric(name="EcsGatesStarted", unit="Count", value=1)
    return result
