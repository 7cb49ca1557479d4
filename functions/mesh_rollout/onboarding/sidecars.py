"""Which container of a task definition is which: the application, Envoy, or a sidecar (pure functions)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mesh_rollout.errors import IncompatibleTaskDefinition

XRAY_PORT = 2000
XRAY_CONTAINER = "xray-daemon"


class Role(StrEnum):
    """What a container is for; only APP containers wait for Envoy or take a release's image."""

    APP = "application"
    ENVOY = "Envoy"
    XRAY = "X-Ray daemon"
    CLOUDWATCH_AGENT = "CloudWatch agent"
    LOG_ROUTER = "FireLens log router"
    OTEL_COLLECTOR = "ADOT collector"


# The repository (last path segment) of the images AWS publishes for each sidecar, in every registry
# they come from (ECR in each Region, public.ecr.aws, Docker Hub) and in the mirrors users copy them to.
IMAGE_ROLES = {
    "aws-appmesh-envoy": Role.ENVOY,
    "aws-xray-daemon": Role.XRAY,
    "cloudwatch-agent": Role.CLOUDWATCH_AGENT,
    "aws-for-fluent-bit": Role.LOG_ROUTER,
    "aws-otel-collector": Role.OTEL_COLLECTOR,
}
# Names AWS's examples give these containers: only used when neither image nor role tells.
NAME_ROLES = {
    "envoy": Role.ENVOY,
    "xray-daemon": Role.XRAY,
    "xray": Role.XRAY,
    "aws-xray-daemon": Role.XRAY,
    "cloudwatch-agent": Role.CLOUDWATCH_AGENT,
    "cloudwatch_agent": Role.CLOUDWATCH_AGENT,
    "cwagent": Role.CLOUDWATCH_AGENT,
    "log_router": Role.LOG_ROUTER,
}


def image_path(image: str) -> list[str]:
    """'localhost:5000/envoyproxy/envoy:v1.30@sha256:…' -> ['localhost:5000', 'envoyproxy', 'envoy']."""
    parts = image.split("@", 1)[0].split("/")
    parts[-1] = parts[-1].split(":", 1)[0]
    return [p.lower() for p in parts]


def image_role(image: str) -> Role | None:
    """The sidecar an image is, by its repository name; None for anything else."""
    path = image_path(image)
    if len(path) >= 2 and path[-2] == "envoyproxy" and (path[-1] == "envoy" or path[-1].startswith("envoy-")):
        return Role.ENVOY  # the upstream images: envoy, envoy-distroless, envoy-contrib, envoy-dev
    return IMAGE_ROLES.get(path[-1])


def maps_xray_port(container: dict[str, Any]) -> bool:
    """Maps UDP 2000, where Envoy and the X-Ray SDKs send trace segments."""
    return any(m.get("containerPort") == XRAY_PORT and m.get("protocol") == "udp" for m in container.get("portMappings", []))


def is_xray_listener(container: dict[str, Any]) -> bool:
    """Maps UDP 2000 and nothing but port 2000 (the daemon also serves sampling rules on TCP 2000)."""
    ports = container.get("portMappings", [])
    return maps_xray_port(container) and all(m.get("containerPort") == XRAY_PORT for m in ports)


def container_role(container: dict[str, Any], proxies: frozenset[str] = frozenset(), app_container: str | None = None) -> Role:
    """The role of one container: the input's word, then its role in the task, its image, its ports, its name."""
    name = container["name"]
    if name == app_container:
        return Role.APP
    if name in proxies:
        return Role.ENVOY
    if container.get("firelensConfiguration"):
        return Role.LOG_ROUTER
    by_image = image_role(container.get("image", ""))
    if by_image is not None:
        return by_image
    if is_xray_listener(container):
        return Role.XRAY
    return NAME_ROLES.get(name, Role.APP)


def container_roles(
    task_definition: dict[str, Any], envoy_container: str | None = None, app_container: str | None = None
) -> dict[str, Role]:
    """{container name: role} in the task definition's order; `envoy_container` is the input's proxy container."""
    named = (envoy_container, (task_definition.get("proxyConfiguration") or {}).get("containerName"))
    proxies = frozenset(name for name in named if name)
    return {c["name"]: container_role(c, proxies, app_container) for c in task_definition.get("containerDefinitions", [])}


def xray_receiver(task_definition: dict[str, Any], roles: dict[str, Role]) -> str | None:
    """The container Envoy's traces go to: an X-Ray daemon, else a sidecar (CloudWatch agent, ADOT) on UDP 2000."""
    containers = task_definition.get("containerDefinitions", [])
    daemons = [c["name"] for c in containers if roles[c["name"]] is Role.XRAY]
    listening = [c["name"] for c in containers if roles[c["name"]] not in (Role.APP, Role.ENVOY) and maps_xray_port(c)]
    return next(iter(daemons + listening), None)


def ensure_xray_daemon(request: dict[str, Any], roles: dict[str, Role], image: str, uid: str, field: str, name: str) -> None:
    """Reuse the task's X-Ray daemon (any name) or add the guide's, in place; never a second listener on UDP 2000."""
    containers = request["containerDefinitions"]
    receiver = xray_receiver(request, roles)
    if receiver is not None:
        if roles[receiver] is Role.XRAY:
            # its calls to the X-Ray API must bypass Envoy as the guide's daemon's do; a user it runs as stays
            next(c for c in containers if c["name"] == receiver).setdefault("user", uid)
        return
    # in awsvpc all containers share one network namespace: a second listener on UDP 2000 could not bind
    taken = [c["name"] for c in containers if maps_xray_port(c) or c["name"] == XRAY_CONTAINER]
    if taken:
        raise IncompatibleTaskDefinition(
            field,
            f"task definition {name}: xray is true, but container {taken[0]!r}, which is not an X-Ray daemon, "
            f"maps UDP 2000 or is named {XRAY_CONTAINER!r}, where the daemon would go",
        )
    containers.append(
        {
            "name": XRAY_CONTAINER,
            "image": image,
            "user": uid,
            "essential": True,
            "cpu": 32,
            "memoryReservation": 256,
            "portMappings": [{"containerPort": XRAY_PORT, "protocol": "udp"}],
        }
    )
