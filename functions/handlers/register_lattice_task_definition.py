"""RegisterLatticeTaskDefinition: find or register a service's task definition taken off the mesh."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.aws.ecs import RolloutRevision
from mesh_rollout.events.register_lattice_task_definition import RegisterLatticeTaskDefinitionEvent
from mesh_rollout.migration.services import register_off_mesh
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> RolloutRevision:
    request = RegisterLatticeTaskDefinitionEvent.parse(event)
    arn = request.targetGroupArns[request.target["targetGroup"]]
    result = register_off_mesh(client("ecs"), request.target, arn, request.roleArn)
    logger.info("task definition off the mesh", extra={"service": result["service"], "taskDefinition": result["taskDefinition"]})
    metrics.add_metric(name="TaskDefinitionsRegistered", unit="Count", value=int(result["registered"]))
    return result
