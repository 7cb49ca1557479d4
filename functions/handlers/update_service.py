"""UpdateService: point an ECS service at a task definition revision (no call if it already runs it)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.aws.ecs import point_service_at
from mesh_rollout.events.update_service import UpdateServiceEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = UpdateServiceEvent.parse(event)
    result = point_service_at(
        client("ecs"), request.cluster, request.service, request.taskDefinition, request.vpcLatticeConfigurations
    )
    metrics.add_metric(name="ServicesUpdated", unit="Count", value=int(result["updated"]))
    return result
