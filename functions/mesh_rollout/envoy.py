"""Rewrite an ECS task definition so its tasks join the mesh through an Envoy sidecar (pure functions)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from mesh_rollout.errors import IncompatibleTaskDefinition, InvalidRolloutInput
from mesh_rollout.specs import input_shape, strip_empty

ENVOY_VERSION = "v1.39.1.0-prod"
# App Mesh publishes its Envoy image from one account in most regions and from these in the others.
ENVOY_REGISTRY_ACCOUNTS = {
    "af-south-1": "924023996002",
    "ap-east-1": "856666278305",
    "ap-southeast-3": "909464085924",
    "cn-north-1": "919366029133",
    "cn-northwest-1": "919830735681",
    "eu-central-2": "704106688930",
    "eu-south-1": "422531588944",
    "eu-south-2": "992897592190",
    "il-central-1": "564877687649",
    "me-south-1": "772975370895",
}
ENVOY_HEALTH_CHECK = {
    "command": ["CMD-SHELL", "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE"],
    "startPeriod": 10,
    "interval": 5,
    "timeout": 2,
    "retries": 3,
}
XRAY_CONTAINER = "xray-daemon"
FARGATE_ENVOY_MEMORY = 500
METADATA_IPS = "169.254.170.2,169.254.169.254"


def default_envoy_image(region: str) -> str:
    """The current App Mesh Envoy image in the region's own registry."""
    account = ENVOY_REGISTRY_ACCOUNTS.get(region, "840364872350")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}/aws-appmesh-envoy:{ENVOY_VERSION}"


@dataclass(frozen=True)
class SidecarSettings:
    """What the sidecar needs: mesh identity, images and the proxy configuration overrides."""

    mesh_name: str
    virtual_node_name: str
    envoy_image: str
    xray: bool = False
    xray_image: str = "amazon/aws-xray-daemon"
    app_container: str | None = None
    app_ports: tuple[int, ...] | None = None
    envoy_container: str = "envoy"
    proxy_overrides: tuple[tuple[str, str], ...] = ()
    field: str = "ecsServices[0]"

    @classmethod
    def from_target(cls, target: dict[str, Any], default_image: str, field: str) -> SidecarSettings:
        proxy = target.get("proxyConfiguration") or {}
        return cls(
            mesh_name=target["meshName"],
            virtual_node_name=target["virtualNodeName"],
            envoy_image=target.get("envoyImage") or default_image,
            xray=bool(target.get("xray")),
            xray_image=target.get("xrayImage") or "amazon/aws-xray-daemon",
            app_container=target.get("appContainer"),
            app_ports=tuple(target["appPorts"]) if target.get("appPorts") else None,
            envoy_container=proxy.get("containerName", "envoy"),
            proxy_overrides=tuple((p["name"], p["value"]) for p in proxy.get("properties", [])),
            field=field,
        )


REGISTRABLE_FIELDS = tuple(name for name in input_shape("ecs", "RegisterTaskDefinition").members if name != "tags")


def registrable(task_definition: dict[str, Any]) -> dict[str, Any]:
    """The part of a described task definition that RegisterTaskDefinition accepts back."""
    return {k: copy.deepcopy(task_definition[k]) for k in REGISTRABLE_FIELDS if k in task_definition}


def same_task_definition(desired: dict[str, Any], current: dict[str, Any]) -> bool:
    """Registrable equality, ignoring the empty lists and zero cpu ECS fills into container definitions."""

    def normal(td: dict[str, Any]) -> Any:
        body = registrable(td)
        for container in body.get("containerDefinitions", []):
            if container.get("cpu") == 0:
                del container["cpu"]
        return strip_empty(body)

    return bool(normal(desired) == normal(current))


def is_fargate(task_definition: dict[str, Any], service: dict[str, Any] | None = None) -> bool:
    service = service or {}
    providers = {p.get("capacityProvider") for p in service.get("capacityProviderStrategy", [])}
    return (
        "FARGATE" in task_definition.get("requiresCompatibilities", [])
        or service.get("launchType") == "FARGATE"
        or bool(providers & {"FARGATE", "FARGATE_SPOT"})
    )


def app_containers(task_definition: dict[str, Any], settings: SidecarSettings) -> list[str]:
    """Names of the application containers that must wait for Envoy."""
    names = [c["name"] for c in task_definition.get("containerDefinitions", [])]
    if settings.app_container is not None:
        if settings.app_container not in names:
            raise InvalidRolloutInput(
                f"{settings.field}.appContainer",
                f"{settings.app_container!r} is not a container of {task_definition.get('family')} (has {names})",
            )
        return [settings.app_container]
    apps = [n for n in names if n not in (settings.envoy_container, XRAY_CONTAINER)]
    if not apps:
        raise IncompatibleTaskDefinition(settings.field, f"{task_definition.get('family')} has no application container")
    return apps


def app_ports(task_definition: dict[str, Any], settings: SidecarSettings) -> str:
    """AppPorts: the given ports, or the TCP container ports of the application containers."""
    if settings.app_ports:
        ports = set(settings.app_ports)
    else:
        apps = set(app_containers(task_definition, settings))
        ports = {
            m["containerPort"]
            for c in task_definition.get("containerDefinitions", [])
            if c["name"] in apps
            for m in c.get("portMappings", [])
            if m.get("protocol", "tcp") == "tcp" and "containerPort" in m
        }
    if not ports:
        raise InvalidRolloutInput(f"{settings.field}.appPorts", "no application container maps a TCP port; give appPorts")
    bad = sorted(p for p in ports if not 1 <= p <= 65535)
    if bad:
        raise InvalidRolloutInput(f"{settings.field}.appPorts", f"{bad} are not ports (1-65535)")
    return ",".join(str(p) for p in sorted(ports))


def check_envoy_compatibility(task_definition: dict[str, Any], service: dict[str, Any], settings: SidecarSettings) -> None:
    """Reject, before any change, what the guide says cannot work."""
    name = f"{task_definition.get('family')}:{task_definition.get('revision')}"
    mode = task_definition.get("networkMode", "bridge")
    if mode != "awsvpc":
        raise IncompatibleTaskDefinition(
            settings.field, f"task definition {name} uses networkMode {mode!r}; App Mesh on ECS needs 'awsvpc'"
        )
    if is_fargate(task_definition, service) and not task_definition.get("taskRoleArn"):
        raise IncompatibleTaskDefinition(
            settings.field,
            f"task definition {name} runs on Fargate without a task role (taskRoleArn); Envoy needs one "
            "allowed appmesh:StreamAggregatedResources, since Fargate has no instance role",
        )
    controller = service.get("deploymentController", {}).get("type", "ECS")
    if controller != "ECS":
        raise IncompatibleTaskDefinition(
            f"{settings.field}.service", f"uses the {controller} deployment controller; only ECS rolling updates are supported"
        )
    app_ports(task_definition, settings)


def proxy_properties(task_definition: dict[str, Any], settings: SidecarSettings) -> list[dict[str, str]]:
    values = {
        "IgnoredUID": "1337",
        "ProxyIngressPort": "15000",
        "ProxyEgressPort": "15001",
        "AppPorts": app_ports(task_definition, settings),
        "EgressIgnoredIPs": METADATA_IPS,
    }
    values.update(dict(settings.proxy_overrides))
    return [{"name": k, "value": v} for k, v in values.items()]


def _set_env(container: dict[str, Any], name: str, value: str | None) -> None:
    """Set (in place, keeping the order) or remove one environment variable."""
    env = [e for e in container.get("environment", []) if value is not None or e.get("name") != name]
    entry = next((e for e in env if e.get("name") == name), None)
    if value is not None and entry is None:
        env.append({"name": name, "value": value})
    elif entry is not None:
        entry["value"] = value
    container["environment"] = env


def inject_envoy_sidecar(
    task_definition: dict[str, Any], settings: SidecarSettings, service: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The RegisterTaskDefinition request for the same task with the guide's Envoy setup applied."""
    request = registrable(task_definition)
    properties = proxy_properties(request, settings)
    uid = next(p["value"] for p in properties if p["name"] == "IgnoredUID")
    apps = set(app_containers(request, settings))
    containers = request.setdefault("containerDefinitions", [])

    for container in containers:
        if container["name"] in apps:
            depends = [d for d in container.get("dependsOn", []) if d.get("containerName") != settings.envoy_container]
            container["dependsOn"] = [*depends, {"containerName": settings.envoy_container, "condition": "HEALTHY"}]

    envoy = next((c for c in containers if c["name"] == settings.envoy_container), None)
    if envoy is None:
        envoy = {"name": settings.envoy_container}
        containers.append(envoy)
    envoy.update(image=settings.envoy_image, essential=True, healthCheck=copy.deepcopy(ENVOY_HEALTH_CHECK), user=uid)
    _set_env(envoy, "APPMESH_VIRTUAL_NODE_NAME", f"mesh/{settings.mesh_name}/virtualNode/{settings.virtual_node_name}")
    _set_env(envoy, "ENABLE_ENVOY_XRAY_TRACING", "1" if settings.xray else None)
    if is_fargate(request, service) and "memory" not in envoy and "memoryReservation" not in envoy:
        envoy["memory"] = FARGATE_ENVOY_MEMORY

    if settings.xray:
        daemon = {
            "name": XRAY_CONTAINER,
            "image": settings.xray_image,
            "user": uid,
            "essential": True,
            "cpu": 32,
            "memoryReservation": 256,
            "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
        }
        index = next((i for i, c in enumerate(containers) if c["name"] == XRAY_CONTAINER), None)
        if index is None:
            containers.append(daemon)
        else:
            containers[index] = {**containers[index], **daemon}

    request["proxyConfiguration"] = {"type": "APPMESH", "containerName": settings.envoy_container, "properties": properties}
    return request
