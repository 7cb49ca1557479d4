"""ECS adapters every workflow shares: services, task definitions (find or register a revision), deployments."""

from __future__ import annotations

import copy
import fnmatch
import functools
from collections.abc import Callable
from typing import Any, TypedDict

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, error_code, single_attempt
from mesh_rollout.aws.deployments import HealthVerdict, deployment_verdict
from mesh_rollout.aws.specs import input_shape, strip_empty
from mesh_rollout.errors import EcsServiceNotFound, MeshRolloutError


class ServicePointed(TypedDict):
    """UpdateService's result (UpdateService's function, the weight shift's release): whether the service was updated."""

    cluster: str
    service: str
    taskDefinition: str
    updated: bool


class ServiceRevision(TypedDict):
    """A service's next revision, what the deployment gate and the rollback carry."""

    cluster: str
    service: str
    previousTaskDefinition: str
    taskDefinition: str
    registered: bool
    needsUpdate: bool


class RolloutRevision(ServiceRevision):
    """RegisterTaskDefinition's and RegisterLatticeTaskDefinition's result (one EcsServiceRolloutStateMachine execution
    carries it): the revision, what the deployment gate polls with, and the VPC Lattice attachments UpdateService sets
    and a rollback puts back (None: the service's are left as they are; []: none)."""

    revision: str  # 'taskB:2', what the rollout's result names
    pollSeconds: int
    maxChecks: int
    vpcLatticeConfigurations: list[dict[str, Any]] | None
    previousVpcLatticeConfigurations: list[dict[str, Any]] | None


def describe_service(ecs: Any, cluster: str, service: str, field: str) -> dict[str, Any]:
    """The ACTIVE service, or EcsServiceNotFound naming the cluster or service field."""
    try:
        response = ecs.describe_services(cluster=cluster, services=[service])
    except ClientError as exc:
        if error_code(exc) == "ClusterNotFoundException":
            raise EcsServiceNotFound(f"{field}.cluster", f"cluster {cluster!r} does not exist") from exc
        raise classify(exc, f"DescribeServices {cluster}/{service}") from exc
    found = [s for s in response.get("services", []) if s.get("status") == "ACTIVE"]
    if not found:
        raise EcsServiceNotFound(f"{field}.service", f"service {service!r} is not an ACTIVE service of cluster {cluster!r}")
    return dict(found[0])


def describe_task_definition(ecs: Any, reference: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    with aws_errors(f"DescribeTaskDefinition {reference}"):
        response = ecs.describe_task_definition(taskDefinition=reference, include=["TAGS"])
    return dict(response["taskDefinition"]), list(response.get("tags", []))


def point_service_at(
    ecs: Any, cluster: str, service: str, task_definition: str, lattice: list[dict[str, Any]] | None = None
) -> ServicePointed:
    """UpdateService to `task_definition` (and, given, these `vpcLatticeConfigurations`) unless the service already
    runs it (with them)."""
    current = describe_service(ecs, cluster, service, "service")
    attached = lattice is None or lattice_configurations(current) == lattice
    if current["taskDefinition"] == task_definition and attached:
        return {"cluster": cluster, "service": service, "taskDefinition": task_definition, "updated": False}
    extra = {} if lattice is None else {"vpcLatticeConfigurations": lattice}
    with aws_errors(f"UpdateService {cluster}/{service}"):
        ecs.update_service(cluster=cluster, service=service, taskDefinition=task_definition, **extra)
    return {"cluster": cluster, "service": service, "taskDefinition": task_definition, "updated": True}


def lattice_configurations(service: dict[str, Any]) -> list[dict[str, Any]]:
    """The `vpcLatticeConfigurations` of the service's PRIMARY deployment (where DescribeServices shows them)."""
    primary: dict[str, Any] = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    return list(primary.get("vpcLatticeConfigurations", []))


def deployment_status(ecs: Any, cluster: str, service: str, task_definition: str) -> HealthVerdict:
    return deployment_verdict(describe_service(ecs, cluster, service, "service"), task_definition)


def find_or_register(ecs: Any, desired: dict[str, Any], current: dict[str, Any], tags: list[dict[str, str]]) -> tuple[str, bool]:
    """(ARN, registered?) of a revision equal to `desired`: the current one, the family's latest (left by an
    earlier run that stopped before updating the service), or a newly registered one with `current`'s tags.
    RegisterTaskDefinition is not idempotent: it is sent once (no botocore retry), and after an error the
    family's latest revision is read again, since a call whose response was lost may have registered it."""
    if same_task_definition(desired, current):
        return str(current["taskDefinitionArn"]), False
    latest, _ = describe_task_definition(ecs, current["family"])
    if same_task_definition(desired, latest):
        return str(latest["taskDefinitionArn"]), False
    try:
        with aws_errors(f"RegisterTaskDefinition {current['family']}"):
            response = single_attempt(ecs).register_task_definition(**desired, **({"tags": tags} if tags else {}))
    except MeshRolloutError:
        latest, _ = describe_task_definition(ecs, current["family"])
        if same_task_definition(desired, latest):
            return str(latest["taskDefinitionArn"]), True
        raise
    return str(response["taskDefinition"]["taskDefinitionArn"]), True


def revise_service(
    ecs: Any, cluster: str, service: str, field: str, rewrite: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
) -> tuple[ServiceRevision, dict[str, Any]]:
    """Find or register `rewrite(task definition, service)` as the service's next revision. Returns the revision
    state the deployment gate and rollback carry (cluster, service, previousTaskDefinition, taskDefinition,
    registered, needsUpdate) and the service as described."""
    described = describe_service(ecs, cluster, service, field)
    current_arn = described["taskDefinition"]
    current, tags = describe_task_definition(ecs, current_arn)
    arn, registered = find_or_register(ecs, rewrite(current, described), current, tags)
    revision: ServiceRevision = {
        "cluster": cluster,
        "service": service,
        "previousTaskDefinition": current_arn,
        "taskDefinition": arn,
        "registered": registered,
        "needsUpdate": arn != current_arn,
    }
    return revision, described


@functools.cache
def registrable_fields() -> tuple[str, ...]:
    """RegisterTaskDefinition's members but tags (read from botocore's model on first use, not at import)."""
    return tuple(name for name in input_shape("ecs", "RegisterTaskDefinition").members if name != "tags")


def registrable(task_definition: dict[str, Any]) -> dict[str, Any]:
    """The part of a described task definition that RegisterTaskDefinition accepts back."""
    return {k: copy.deepcopy(task_definition[k]) for k in registrable_fields() if k in task_definition}


def same_task_definition(desired: dict[str, Any], current: dict[str, Any]) -> bool:
    """Registrable equality, ignoring the empty lists and zero cpu ECS fills into container definitions."""

    def normal(td: dict[str, Any]) -> Any:
        body = registrable(td)
        for container in body.get("containerDefinitions", []):
            if container.get("cpu") == 0:
                del container["cpu"]
        return strip_empty(body)

    return bool(normal(desired) == normal(current))


def _clusters(ecs: Any, pattern: str) -> list[str]:
    """The clusters whose names match `pattern` (a name, or a pattern with * as IAM ARNs take it)."""
    if "*" not in pattern:
        return [pattern]
    found = [c for page in ecs.get_paginator("list_clusters").paginate() for c in page["clusterArns"]]
    return [c for c in found if fnmatch.fnmatchcase(c.rsplit("/", 1)[-1], pattern)]


def service_of_target_group(ecs: Any, target_group_arn: str, clusters: str = "*") -> dict[str, str] | None:
    """{"cluster", "service"} of the ECS service whose tasks register in the target group: through an ALB
    (`loadBalancers[].targetGroupArn`) or VPC Lattice (`deployments[].vpcLatticeConfigurations[].targetGroupArn`);
    None if no service of the clusters matching `clusters` does. Several services: AmbiguousService (a release or
    a scale-down must not pick one of them silently)."""
    found = []
    with aws_errors("ListClusters / ListServices / DescribeServices"):
        for cluster in _clusters(ecs, clusters):
            arns = [s for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for s in page["serviceArns"]]
            for start in range(0, len(arns), 10):  # DescribeServices takes up to 10
                for service in ecs.describe_services(cluster=cluster, services=arns[start : start + 10])["services"]:
                    if service.get("status") == "ACTIVE" and target_group_arn in _registered_in(service):
                        found.append({"cluster": cluster.rsplit("/", 1)[-1], "service": str(service["serviceName"])})
    if len(found) > 1:
        raise AmbiguousService(", ".join(f"{f['cluster']}/{f['service']}" for f in found))
    return found[0] if found else None


class AmbiguousService(Exception):
    """More than one ECS service registers in a target group; the message lists them."""


def _registered_in(service: dict[str, Any]) -> set[str]:
    groups = {str(b.get("targetGroupArn")) for b in service.get("loadBalancers", [])}
    for deployment in service.get("deployments", []):
        groups |= {str(c.get("targetGroupArn")) for c in deployment.get("vpcLatticeConfigurations", [])}
    return groups


def short_name(task_definition_arn: str) -> str:
    """'arn:...:task-definition/taskB:3' -> 'taskB:3'."""
    return task_definition_arn.rsplit("/", 1)[-1]
