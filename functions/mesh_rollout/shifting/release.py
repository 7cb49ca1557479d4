"""A release before the canary steps: a new image for the canary service, keeping its sidecar exactly.

The image comes as CodePipeline's ECS actions write it (imagedefinitions.json: [{"name", "imageUri"}])
or as `canaryImage` (for the one application container, or `canaryContainer`). Only `image` changes;
the Envoy sidecar, proxyConfiguration, dependsOn and everything else are copied from the running revision.
"""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.ecs import (
    ServicePointed,
    ServiceRevision,
    describe_service,
    point_service_at,
    registrable,
    revise_service,
    short_name,
)
from mesh_rollout.errors import EcsServiceNotFound, InvalidRolloutInput, LockLost, MeshRolloutError
from mesh_rollout.onboarding.sidecars import Role, container_roles
from mesh_rollout.shifting.lock import LockFence


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


def release_revision(ecs: Any, cluster: str, service: str, images: dict[str, str]) -> ServiceRevision:
    """Find or register the revision of the service's task definition with `images`."""
    revision, _ = revise_service(ecs, cluster, service, "canaryEcsService", lambda current, _: with_images(current, images))
    return revision


def point_canary_at_release(ecs: Any, cluster: str, service: str, task_definition: str, fence: LockFence) -> ServicePointed:
    """UpdateService to the release's revision, fenced by the route's lock as a weight write is. The Lambda runs on
    after its execution is stopped, so the update may land before or after the clean-up takes the lock over:
    (a) before: the clean-up, which reads the service after its take-over, sees the release's revision and puts
    it back (undo_release); (b) after: the clean-up found it "already on" the old revision, and this check, made
    after the update, finds the lock lost, puts the service back itself and raises LockLost. An update that
    failed may have landed too (a lost reply): it is checked the same way."""
    before = describe_service(ecs, cluster, service, "service")["taskDefinition"]
    try:
        result = point_service_at(ecs, cluster, service, task_definition)
    except MeshRolloutError as exc:
        _undo_if_fenced(ecs, cluster, service, before, task_definition, fence, exc)
        raise
    _undo_if_fenced(ecs, cluster, service, before, task_definition, fence)
    return result


def _undo_if_fenced(
    ecs: Any, cluster: str, service: str, before: str, ours: str, fence: LockFence, failure: Exception | None = None
) -> None:
    """Raise LockLost, the update undone, if the execution no longer holds the lock (None if it does)."""
    holder = fence.lost()
    if holder is None:
        return
    lost = f"this execution no longer holds lock {fence.lock_id} (now {holder})"
    if before == ours:
        raise LockLost(f"ECS service {cluster}/{service} already ran {short_name(ours)}: {lost}; nothing changed") from failure
    revision = {"cluster": cluster, "service": service, "previousTaskDefinition": before, "taskDefinition": ours}
    raise LockLost(f"{lost} after its update to {short_name(ours)}: {undo_release(ecs, revision)}") from failure


def undo_release(ecs: Any, revision: dict[str, Any]) -> str:
    """Put the canary service back on the revision it ran before the release (RegisterRelease's `revision`), if it
    still runs the release's: a revision someone deployed since stays, as hand-set weights do. Says what it did."""
    cluster, service = revision["cluster"], revision["service"]
    before, released = revision["previousTaskDefinition"], revision["taskDefinition"]
    name = f"ECS service {cluster}/{service}"
    try:
        running = describe_service(ecs, cluster, service, "canaryEcsService")["taskDefinition"]
    except EcsServiceNotFound:
        return f"{name} not put back on {short_name(before)}: the service is gone"
    if running == before:
        return f"{name} already on {short_name(before)}, the revision it ran before the release"
    if running != released:
        return f"{name} not put back: it runs {short_name(running)}, not the release's {short_name(released)} (changed since)"
    point_service_at(ecs, cluster, service, before)
    return f"{name} put back on {short_name(before)} (the release's {short_name(released)} undone)"
