"""EnsureLattice: converge the service network, the target groups, or one Lattice service (and its DNS record)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.ensure_lattice import EnsureLatticeEvent
from mesh_rollout.migration.converge import (
    NetworkEnsured,
    ServiceEnsured,
    TargetGroupsEnsured,
    ensure_network,
    ensure_service,
    ensure_target_groups,
)
from mesh_rollout.migration.preflight import IngressAllowed, allow_lattice_ingress
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> IngressAllowed | NetworkEnsured | TargetGroupsEnsured | ServiceEnsured:
    request = EnsureLatticeEvent.parse(event)
    lattice = client("vpc-lattice")
    if request.kind == "ingress" and request.ingress is not None:
        result = allow_lattice_ingress(client("ec2"), request.ingress)
    elif request.kind == "network" and request.network is not None:
        result = ensure_network(lattice, request.network)
    elif request.kind == "targetGroups" and request.targetGroups is not None:
        result = ensure_target_groups(lattice, request.targetGroups)
    elif request.kind == "service" and request.service is not None and request.networkId and request.hostedZones:
        result = ensure_service(
            lattice,
            client("route53"),
            request.service,
            request.networkId,
            request.groupIds or {},
            request.hostedZones[request.service["customDomainName"]],
        )
    else:
        from mesh_rollout.errors import InvalidRolloutInput

        raise InvalidRolloutInput(
            request.kind, "is missing what this kind needs (network / targetGroups / service, networkId, hostedZones)"
        )
    logger.info("lattice converged", extra={"kind": request.kind, "changes": result["changes"]})
    metrics.add_metric(name="LatticeChanges", unit="Count", value=len(result["changes"]))
    return result
