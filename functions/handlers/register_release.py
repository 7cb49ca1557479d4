"""RegisterRelease: register the canary service's task definition again with the released image(s) only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.register_release import RegisterReleaseEvent, RegisterReleasesEvent
from mesh_rollout.grouping.releases import ReleasesRegistered, register_releases
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.weight_shift import ReleaseRevision, register_release


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> ReleaseRevision | ReleasesRegistered:
    if "releases" in event:  # a group's route legs that release a new image (grouping.releases)
        group = RegisterReleasesEvent.parse(event)
        registered = register_releases(client("ecs"), group.releases)
        logger.info("release revisions", extra=registered)
        metrics.add_metric(
            name="ReleaseRevisionsRegistered", unit="Count", value=sum(1 for r in registered["revisions"] if r["registered"])
        )
        return registered
    request = RegisterReleaseEvent.parse(event)
    result = register_release(client("ecs"), request.release)
    logger.info("release revision", extra=result)
    metrics.add_metric(name="ReleaseRevisionsRegistered", unit="Count", value=1 if result["registered"] else 0)
    return result
