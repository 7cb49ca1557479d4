"""ECS adapters: read services and task definitions, register Envoy-enabled revisions, roll services."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, error_code, single_attempt
from mesh_rollout.envoy import (
    SidecarSettings,
    check_envoy_compatibility,
    inject_envoy_sidecar,
    same_task_definition,
)
from mesh_rollout.errors import EcsServiceNotFound, MeshRolloutError
from mesh_rollout.health import HealthVerdict, deployment_verdict


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


def check_target(ecs: Any, target: dict[str, Any], default_image: str, field: str) -> None:
    """Read-only check that the service exists and its task definition can take the sidecar."""
    service = describe_service(ecs, target["cluster"], target["service"], field)
    task_definition, _ = describe_task_definition(ecs, service["taskDefinition"])
    settings = SidecarSettings.from_target(target, default_image, field)
    check_envoy_compatibility(task_definition, service, settings)
    # the rewrite itself refuses a dependsOn cycle and Fargate containers beyond the task's memory or CPU
    inject_envoy_sidecar(task_definition, settings, service)


def prepare_revision(ecs: Any, target: dict[str, Any], default_image: str, field: str) -> dict[str, Any]:
    """Find or register the Envoy-enabled revision of the service's task definition."""
    service = describe_service(ecs, target["cluster"], target["service"], field)
    current_arn = service["taskDefinition"]
    current, tags = describe_task_definition(ecs, current_arn)
    settings = SidecarSettings.from_target(target, default_image, field)
    check_envoy_compatibility(current, service, settings)
    desired = inject_envoy_sidecar(current, settings, service)

    arn, registered = find_or_register(ecs, desired, current, tags)
    return {
        "cluster": target["cluster"],
        "service": target["service"],
        "previousTaskDefinition": current_arn,
        "taskDefinition": arn,
        "registered": registered,
        "needsUpdate": arn != current_arn,
    }


def point_service_at(ecs: Any, cluster: str, service: str, task_definition: str) -> dict[str, Any]:
    """UpdateService to `task_definition` unless the service already runs it."""
    current = describe_service(ecs, cluster, service, "service")
    if current["taskDefinition"] == task_definition:
        return {"cluster": cluster, "service": service, "taskDefinition": task_definition, "updated": False}
    with aws_errors(f"UpdateService {cluster}/{service}"):
        ecs.update_service(cluster=cluster, service=service, taskDefinition=task_definition)
    return {"cluster": cluster, "service": service, "taskDefinition": task_definition, "updated": True}


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
