"""The ECS side of putting a service on the mesh: check it can take the Envoy sidecar, find or register its revision."""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.ecs import ServiceRevision, describe_service, describe_task_definition, revise_service
from mesh_rollout.onboarding.envoy import SidecarSettings, check_envoy_compatibility, inject_envoy_sidecar


def check_target(ecs: Any, target: dict[str, Any], default_image: str, field: str) -> None:
    """Read-only check that the service exists and its task definition can take the sidecar."""
    service = describe_service(ecs, target["cluster"], target["service"], field)
    task_definition, _ = describe_task_definition(ecs, service["taskDefinition"])
    settings = SidecarSettings.from_target(target, default_image, field)
    check_envoy_compatibility(task_definition, service, settings)
    # the rewrite itself refuses a dependsOn cycle and Fargate containers beyond the task's memory or CPU
    inject_envoy_sidecar(task_definition, settings, service)


def prepare_revision(ecs: Any, target: dict[str, Any], default_image: str, field: str) -> ServiceRevision:
    """Find or register the Envoy-enabled revision of the service's task definition."""
    settings = SidecarSettings.from_target(target, default_image, field)

    def with_envoy(current: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
        check_envoy_compatibility(current, service, settings)
        return inject_envoy_sidecar(current, settings, service)

    revision, _ = revise_service(ecs, target["cluster"], target["service"], field, with_envoy)
    return revision
