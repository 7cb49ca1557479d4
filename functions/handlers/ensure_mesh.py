"""EnsureMesh / EnsureVirtualService: create or update the mesh or one virtual service."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.ensure_mesh import EnsureMeshEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.onboarding.appmesh import MeshResourceEnsured
from mesh_rollout.onboarding.rollout import ensure_mesh_or_service


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> MeshResourceEnsured:
    request = EnsureMeshEvent.parse(event)
    result = ensure_mesh_or_service(client("appmesh"), request.kind, request.request, request.placeholder)
    metrics.add_metric(name="MeshResourcesChanged", unit="Count", value=int(result["action"] != "unchanged"))
    return result
