"""Rewrite an ECS task definition so its tasks join the mesh through an Envoy sidecar (pure functions)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from mesh_rollout.aws.ecs import registrable
from mesh_rollout.errors import IncompatibleTaskDefinition, InvalidRolloutInput
from mesh_rollout.onboarding.sidecars import Role, container_roles, ensure_xray_daemon, image_path
from mesh_rollout.onboarding.startup_order import depends_on_graph, find_cycle, wire_envoy
from mesh_rollout.onboarding.task_size import shortfall

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
    xray: bool | None = None  # None keeps the tracing the task definition has
    xray_image: str = "amazon/aws-xray-daemon"
    app_container: str | None = None
    app_ports: tuple[int, ...] | None = None
    envoy_container: str | None = None  # None: the task definition's own Envoy if it has one, else "envoy"
    proxy_overrides: tuple[tuple[str, str], ...] = ()
    field: str = "ecsServices[0]"

    @classmethod
    def from_target(cls, target: dict[str, Any], default_image: str, field: str) -> SidecarSettings:
        proxy = target.get("proxyConfiguration") or {}
        return cls(
            mesh_name=target["meshName"],
            virtual_node_name=target["virtualNodeName"],
            envoy_image=target.get("envoyImage") or default_image,
            xray=target.get("xray"),
            xray_image=target.get("xrayImage") or "amazon/aws-xray-daemon",
            app_container=target.get("appContainer"),
            app_ports=tuple(target["appPorts"]) if target.get("appPorts") else None,
            envoy_container=proxy.get("containerName"),
            proxy_overrides=tuple((p["name"], p["value"]) for p in proxy.get("properties", [])),
            field=field,
        )


def is_fargate(task_definition: dict[str, Any], service: dict[str, Any] | None = None) -> bool:
    service = service or {}
    providers = {p.get("capacityProvider") for p in service.get("capacityProviderStrategy", [])}
    return (
        "FARGATE" in task_definition.get("requiresCompatibilities", [])
        or service.get("launchType") == "FARGATE"
        or bool(providers & {"FARGATE", "FARGATE_SPOT"})
    )


def label(task_definition: dict[str, Any]) -> str:
    """'family:revision', or the family alone for a task definition not registered yet."""
    revision = task_definition.get("revision")
    return f"{task_definition.get('family')}:{revision}" if revision else str(task_definition.get("family"))


def envoy_container(task_definition: dict[str, Any], settings: SidecarSettings) -> str:
    """The Envoy container's name: the input's, else the task definition's own Envoy, else 'envoy'."""
    roles = container_roles(task_definition, settings.envoy_container, settings.app_container)
    envoys = [name for name, role in roles.items() if role is Role.ENVOY]
    wanted = settings.envoy_container or (envoys[0] if envoys else "envoy")
    others = [name for name in envoys if name != wanted]
    if others:
        # Two Envoys in one awsvpc task would both bind 15000, 15001 and 9901
        raise IncompatibleTaskDefinition(
            settings.field,
            f"task definition {label(task_definition)} already has Envoy container(s) {others}; the proxy container "
            f"would be {wanted!r}: give proxyConfiguration.containerName {others[0]!r} or remove the other Envoy",
        )
    return wanted


def roles_of(task_definition: dict[str, Any], settings: SidecarSettings) -> dict[str, Role]:
    return container_roles(task_definition, envoy_container(task_definition, settings), settings.app_container)


def app_containers(task_definition: dict[str, Any], settings: SidecarSettings) -> list[str]:
    """Names of the application containers that must wait for Envoy (sidecars are recognised by sidecars.py)."""
    names = [c["name"] for c in task_definition.get("containerDefinitions", [])]
    if settings.app_container is not None:
        if settings.app_container not in names:
            raise InvalidRolloutInput(
                f"{settings.field}.appContainer",
                f"{settings.app_container!r} is not a container of {task_definition.get('family')} (has {names})",
            )
        return [settings.app_container]
    apps = [name for name, role in roles_of(task_definition, settings).items() if role is Role.APP]
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
    name = label(task_definition)
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
    properties = proxy_properties(task_definition, settings)
    uid = next(p["value"] for p in properties if p["name"] == "IgnoredUID")
    apps = set(app_containers(task_definition, settings))
    envoy_name = envoy_container(task_definition, settings)
    request = registrable(task_definition)
    containers = request.setdefault("containerDefinitions", [])

    envoy = next((c for c in containers if c["name"] == envoy_name), None)
    if envoy is None:
        envoy = {"name": envoy_name}
        containers.append(envoy)
    _check_own_bootstrap(envoy, task_definition, settings)
    # The stack's image always wins: it is the App Mesh Envoy version this stack was tested with
    envoy.update(image=settings.envoy_image, essential=True, user=uid)
    envoy.setdefault("healthCheck", copy.deepcopy(ENVOY_HEALTH_CHECK))  # a tuned check of a hand-made Envoy stays
    _set_env(envoy, "APPMESH_VIRTUAL_NODE_NAME", f"mesh/{settings.mesh_name}/virtualNode/{settings.virtual_node_name}")
    if settings.xray is not None:
        _set_env(envoy, "ENABLE_ENVOY_XRAY_TRACING", "1" if settings.xray else None)
    fargate = is_fargate(request, service)
    if fargate and "memory" not in envoy and "memoryReservation" not in envoy:
        envoy["memory"] = FARGATE_ENVOY_MEMORY
    if settings.xray:
        ensure_xray_daemon(request, roles_of(request, settings), settings.xray_image, uid, settings.field, label(task_definition))

    wire_envoy(containers, envoy_name, apps)
    request["proxyConfiguration"] = {"type": "APPMESH", "containerName": envoy_name, "properties": properties}
    _check_result(request, task_definition, settings, fargate)
    return request


def _check_own_bootstrap(envoy: dict[str, Any], task_definition: dict[str, Any], settings: SidecarSettings) -> None:
    """An Envoy started with its own command (upstream envoyproxy/envoy) cannot become App Mesh's by a new image."""
    image = envoy.get("image", "")
    own = [key for key in ("command", "entryPoint") if envoy.get(key)]
    if own and image != settings.envoy_image and image_path(image)[-1] != "aws-appmesh-envoy":
        raise IncompatibleTaskDefinition(
            settings.field,
            f"task definition {label(task_definition)}: container {envoy['name']!r} runs {image} with its own "
            f"{' and '.join(own)}; App Mesh's Envoy image bootstraps itself: remove them or the container",
        )


def _check_result(request: dict[str, Any], task_definition: dict[str, Any], settings: SidecarSettings, fargate: bool) -> None:
    """Refuse a rewrite ECS could not start: a dependsOn cycle, or Fargate containers beyond the task size."""
    name = label(task_definition)
    cycle = find_cycle(depends_on_graph(request["containerDefinitions"]))
    if cycle:
        raise IncompatibleTaskDefinition(
            settings.field, f"task definition {name} has a dependsOn cycle {' -> '.join(cycle)}; none of them could start"
        )
    if not fargate:
        return
    try:
        problem = shortfall(request)
    except ValueError as exc:
        raise IncompatibleTaskDefinition(settings.field, f"task definition {name}: {exc}") from exc
    if problem:
        raise IncompatibleTaskDefinition(settings.field, f"task definition {name} on Fargate {problem}")
