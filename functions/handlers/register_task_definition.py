"""RegisterTaskDefinition: find or register the Envoy-enabled revision of a service's task definition."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.aws.ecs import RolloutRevision
from mesh_rollout.events.register_task_definition import RegisterTaskDefinitionEvent
from mesh_rollout.observability import CORRELATION_PATH, envoy_image, logger, metrics, tracer
from mesh_rollout.onboarding.rollout import register_task_definition


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> RolloutRevision:
    request = RegisterTaskDefinitionEvent.parse(event)
    result = register_task_definition(client("ecs"), request.target, request.index, envoy_image())
    metrics.add_metric(name="TaskDefinitionsRegistered", unit="Count", value=int(result["registered"]))
    return result
