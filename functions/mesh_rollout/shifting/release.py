"""A release before the canary steps: a new image for the canary service, keeping its sidecar exactly.

The image comes as CodePipeline's ECS actions write it (imagedefinitions.json: [{"name", "imageUri"}])
or as `canaryImage` (for the one application container, or `canaryContainer`). Only `image` changes;
the Envoy sidecar, proxyConfiguration, dependsOn and everything else are copied from the running revision.
"""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.ecs import registrable, revise_service
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.onboarding.sidecars import Role, container_roles


def wanted_images(
    task_definition: dict[str, Any],
    image_definitions: list[dict[str, str]] | None,
    canary_image: str | None,
    canary_container: str | None,
) -> dict[str, str]:
    """{container: image} the release asks for, checked against the task definition's containers (pure)."""
    containers = [c["name"] for c in task_definition.get("containerDefinitions", [])]
    family = task_definition.get("family")
    if image_definitions is not None:
        images = {}
        for index, item in enumerate(image_definitions):
            if item["name"] not in containers:
                raise InvalidRolloutInput(
                    f"imageDefinitions[{index}].name", f"{item['name']!r} is not a container of {family} (has {containers})"
                )
            images[item["name"]] = item["imageUri"]
        return images
    if canary_container is not None:
        if canary_container not in containers:
            raise InvalidRolloutInput(
                "canaryContainer", f"{canary_container!r} is not a container of {family} (has {containers})"
            )
        return {canary_container: str(canary_image)}
    apps = [name for name, role in container_roles(task_definition).items() if role is Role.APP]
    if len(apps) != 1:
        raise InvalidRolloutInput("canaryContainer", f"{family} has application containers {apps}: name the one to update")
    return {apps[0]: str(canary_image)}


def with_images(task_definition: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    """The RegisterTaskDefinition request for the same task definition with new images (pure)."""
    body = registrable(task_definition)
    for container in body["containerDefinitions"]:
        if container["name"] in images:
            container["image"] = images[container["name"]]
    return body


def release_revision(ecs: Any, cluster: str, service: str, images: dict[str, str]) -> dict[str, Any]:
    """Find or register the revision of the service's task definition with `images`."""
    revision, _ = revise_service(ecs, cluster, service, "canaryEcsService", lambda current, _: with_images(current, images))
    return revision
