"""EnsureVirtualRouter / EnsureRoute: create or update one virtual router or route."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.ensure_router import EnsureRouterEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.onboarding.appmesh import MeshResourceEnsured, ensure_resource


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> MeshResourceEnsured:
    request = EnsureRouterEvent.parse(event)
    result = ensure_resource(client("appmesh"), request.kind, request.request)
    metrics.add_metric(name="MeshResourcesChanged", unit="Count", value=int(result["action"] != "unchanged"))
    return result
