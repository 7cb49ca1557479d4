"""FinalizeCanary: at 100%, retire the stable version (route target; opt-in: ECS service to 0, virtual node)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client
from mesh_rollout.events import FinalizeCanaryEvent
from mesh_rollout.models import parse_input
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.weight_shift import finalize_canary


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_input(event, FinalizeCanaryEvent)
    result = finalize_canary(request.route, request.stable, request.canary, request.finalize, client("appmesh"), client("ecs"))
    logger.info("canary finalized", extra=result)
    metrics.add_metric(name="CanariesFinalized", unit="Count", value=1)
    return result
