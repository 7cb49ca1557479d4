"""MoveNames: the virtual services' names onto VPC Lattice once their ECS services are on it, or put back."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.errors import InvalidRolloutInput, readable_failure
from mesh_rollout.events.move_names import MoveNamesEvent
from mesh_rollout.migration.dns import (
    NamesMoved,
    NamesPutBackAfterFailure,
    NamesRead,
    dns_failure_cause,
    move_names,
    on_lattice_targets,
    put_names_back,
    read_names,
)
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> NamesRead | NamesPutBackAfterFailure | NamesMoved:
    request = MoveNamesEvent.parse(event)
    if request.kind == "read" and request.services is not None and request.hostedZones is not None:
        return read_names(client("route53"), request.services, request.hostedZones)
    if request.kind == "putBack" and request.names is not None:
        result = put_names_back(client("route53"), request.names)
        error, message = readable_failure(request.failure)
        logger.warning("names put back", extra=result)
        return {
            **result,
            "error": error or "States.TaskFailed",
            "cause": dns_failure_cause(f"{error}: {message}", result["putBack"]),
        }
    if request.kind == "move" and None not in (
        request.services,
        request.hostedZones,
        request.domains,
        request.ecsServices,
        request.results,
    ):
        on_lattice = on_lattice_targets(request.ecsServices or [], request.results or [])
        domains = [d["domainName"] for d in request.domains or []]
        moved = move_names(client("route53"), request.services or [], domains, on_lattice, request.hostedZones or {})
        logger.info("names moved", extra=moved)
        metrics.add_metric(name="NamesMoved", unit="Count", value=len(moved["moved"]))
        return moved
    raise InvalidRolloutInput(
        request.kind, "is missing what this kind needs (services, hostedZones / domains, ecsServices, results / names)"
    )
