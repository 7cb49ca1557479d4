"""FinishMeshRollout: say what became of each ECS service and clear the rollout's stop flag."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.finish_mesh_rollout import FinishMeshRolloutEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.onboarding.rollout import EcsOutcome, ecs_outcome
from mesh_rollout.onboarding.stop_flag import clear_stop


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> EcsOutcome:
    request = FinishMeshRolloutEvent.parse(event)
    outcome = ecs_outcome(request.results, request.destination)
    if outcome["failed"]:
        clear_stop(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], request.stopKey)
        logger.warning("ECS services failed", extra=outcome)
    metrics.add_metric(name="ServicesFailed", unit="Count", value=outcome["services"]["failed"])
    return outcome
