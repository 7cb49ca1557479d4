"""DeploymentHealth: the health gate's verdict on an ECS deployment (COMPLETED, IN_PROGRESS, FAILED)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.deployment_health import CheckReleasesEvent, DeploymentHealthEvent
from mesh_rollout.grouping.releases import ReleasesChecked, check_releases
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.onboarding.rollout import DeploymentCheck, check_deployment


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> DeploymentCheck | ReleasesChecked:
    if "revisions" in event:  # a group's releases (grouping.releases)
        group = CheckReleasesEvent.parse(event)
        checked = check_releases(client("ecs"), group.revisions, group.checks)
        metrics.add_metric(name=f"DeploymentVerdict{checked['state'].title().replace('_', '')}", unit="Count", value=1)
        return checked
    request = DeploymentHealthEvent.parse(event)
    result = check_deployment(
        client("ecs"), request.cluster, request.service, request.taskDefinition, request.checks, request.maxChecks
    )
    metrics.add_metric(name=f"DeploymentVerdict{result['verdict']['state'].title().replace('_', '')}", unit="Count", value=1)
    return result
