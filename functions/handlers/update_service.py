"""UpdateService: point an ECS service at a task definition revision (no call if it already runs it); a weight shift's
releases (`revisions`), each fenced by the execution holding its leg's lock (grouping.releases)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.aws.ecs import ServicePointed, point_service_at
from mesh_rollout.events.update_service import UpdateReleasesEvent, UpdateServiceEvent
from mesh_rollout.grouping.releases import ReleasesPointed, fence_for, point_releases
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> ServicePointed | ReleasesPointed:
    if "revisions" in event:  # a group's releases, each under its leg's lock (grouping.releases)
        group = UpdateReleasesEvent.parse(event)
        fence_of = fence_for(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], group.executionArn)
        pointed = point_releases(client("ecs"), group.revisions, fence_of)
        metrics.add_metric(name="ServicesUpdated", unit="Count", value=len(pointed["updated"]))
        return pointed
    request = UpdateServiceEvent.parse(event)
    result = point_service_at(
        client("ecs"), request.cluster, request.service, request.taskDefinition, request.vpcLatticeConfigurations
    )
    metrics.add_metric(name="ServicesUpdated", unit="Count", value=int(result["updated"]))
    return result
