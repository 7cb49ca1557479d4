"""RollbackService: put a service whose deployment failed back on its previous revision."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.rollback_service import RollbackServiceEvent, UndoReleasesEvent
from mesh_rollout.grouping.releases import ReleasesUndone, undo_releases
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.onboarding.rollout import ServiceRolledBack, roll_back_service


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> ServiceRolledBack | ReleasesUndone:
    if "revisions" in event:  # a group's releases, undone after its rollback (grouping.releases)
        group = UndoReleasesEvent.parse(event)
        undone = undo_releases(client("ecs"), group.revisions, group.rolledBack)
        logger.warning("releases undone", extra=undone)
        metrics.add_metric(name="ServiceRollbacks", unit="Count", value=len(undone["done"]))
        return undone
    request = RollbackServiceEvent.parse(event)
    result = roll_back_service(
        client("ecs"),
        request.cluster,
        request.service,
        request.previousTaskDefinition,
        request.taskDefinition,
        request.verdict,
        request.previousVpcLatticeConfigurations,
    )
    logger.warning("service rolled back", extra=result)
    metrics.add_metric(name="ServiceRollbacks", unit="Count", value=1)
    return result
