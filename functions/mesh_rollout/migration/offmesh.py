"""A task definition taken off App Mesh for VPC Lattice (pure): Envoy, the APPMESH proxy configuration and every
`dependsOn` on them go; an X-Ray daemon stays unless asked; the port Lattice sends traffic to gets a name (ECS's
`vpcLatticeConfigurations[].portName` names a port mapping); everything else is kept byte for byte."""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.ecs import registrable
from mesh_rollout.errors import IncompatibleTaskDefinition
from mesh_rollout.onboarding.envoy import label
from mesh_rollout.onboarding.sidecars import Role, container_roles

DEFAULT_PORT_NAME = "http"


def app_port(task_definition: dict[str, Any]) -> int | None:
    """The port the application serves on: the APPMESH proxy configuration's AppPorts (its first), else the one
    container port of the application containers; None if neither tells."""
    for prop in (task_definition.get("proxyConfiguration") or {}).get("properties", []):
        if prop["name"] == "AppPorts" and prop["value"]:
            return int(prop["value"].split(",")[0])
    roles = container_roles(task_definition)
    ports = {
        m["containerPort"]
        for c in task_definition.get("containerDefinitions", [])
        if roles[c["name"]] is Role.APP
        for m in c.get("portMappings", [])
        if m.get("protocol", "tcp") == "tcp"
    }
    return ports.pop() if len(ports) == 1 else None


def off_mesh(
    task_definition: dict[str, Any], port: int, keep_xray: bool = True, field: str = "ecsServices"
) -> tuple[dict[str, Any], str]:
    """(the RegisterTaskDefinition request without the mesh, the port name Lattice uses). IncompatibleTaskDefinition
    if no application container maps `port`."""
    request = registrable(task_definition)
    roles = container_roles(task_definition)
    gone = {name for name, role in roles.items() if role is Role.ENVOY or (role is Role.XRAY and not keep_xray)}
    request.pop("proxyConfiguration", None)
    containers = [c for c in request["containerDefinitions"] if c["name"] not in gone]
    for container in containers:
        if "dependsOn" in container:
            kept = [d for d in container["dependsOn"] if d["containerName"] not in gone]
            if kept:
                container["dependsOn"] = kept
            else:
                del container["dependsOn"]
    request["containerDefinitions"] = containers
    mapping = next(
        (
            m
            for c in containers
            if roles[c["name"]] is Role.APP
            for m in c.get("portMappings", [])
            if m.get("containerPort") == port and m.get("protocol", "tcp") == "tcp"
        ),
        None,
    )
    if mapping is None:
        raise IncompatibleTaskDefinition(
            field,
            f"{label(task_definition)}: no application container maps TCP port {port}, where the virtual node's"
            " target group sends traffic; map it (or give the node the application's port)",
        )
    if not mapping.get("name"):
        taken = {m.get("name") for c in containers for m in c.get("portMappings", [])}
        name = DEFAULT_PORT_NAME if DEFAULT_PORT_NAME not in taken else f"{DEFAULT_PORT_NAME}-{port}"
        mapping["name"] = name
    return request, str(mapping["name"])
