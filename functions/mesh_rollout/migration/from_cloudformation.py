"""A CloudFormation template's App Mesh resources as the MeshRolloutStateMachine / Lattice rollout input (pure).

Each AWS::AppMesh::* resource becomes the App Mesh API's create request: CloudFormation's PascalCase property names
(MeshName, Spec.Listeners[].PortMapping ...) mapped onto the API's own members as botocore's appmesh model spells
them (meshName, spec.listeners[].portMapping, AWSCloudMap -> awsCloudMap), numbers and booleans given as strings
turned into the model's types. Intrinsics are resolved as the stack would (cfn_intrinsics): Ref to an App Mesh
resource is its ARN, GetAtt gives its names; a value only the stack knows is refused by path, naming the override.

The ECS services to move are the template's AWS::ECS::Service resources whose task definition (in the template)
has an APPMESH proxy configuration; the Envoy container's APPMESH_RESOURCE_ARN (or APPMESH_VIRTUAL_NODE_NAME) names
their virtual node. A template holding no ECS service takes them from the caller. Virtual gateways and their
routes become the Lattice rollout's `virtualGateways` and `gatewayRoutes` (a gateway's own ECS service is not moved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from mesh_rollout.aws.specs import input_shape
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.cfn_intrinsics import Resolver, Unresolvable


@dataclass(frozen=True)
class Kind:
    """How one AWS::AppMesh type appears in the input and in ARNs."""

    section: str
    operation: str
    names: tuple[str, ...]  # its name properties, outermost first (a route: router then route)
    arn_path: tuple[str, ...]  # the ARN's resource path segments, one per name


KINDS = {
    "AWS::AppMesh::Mesh": Kind("mesh", "CreateMesh", (), ()),
    "AWS::AppMesh::VirtualNode": Kind("virtualNodes", "CreateVirtualNode", ("VirtualNodeName",), ("virtualNode",)),
    "AWS::AppMesh::VirtualRouter": Kind("virtualRouters", "CreateVirtualRouter", ("VirtualRouterName",), ("virtualRouter",)),
    "AWS::AppMesh::Route": Kind("routes", "CreateRoute", ("VirtualRouterName", "RouteName"), ("virtualRouter", "route")),
    "AWS::AppMesh::VirtualService": Kind("virtualServices", "CreateVirtualService", ("VirtualServiceName",), ("virtualService",)),
    "AWS::AppMesh::VirtualGateway": Kind("virtualGateways", "CreateVirtualGateway", ("VirtualGatewayName",), ("virtualGateway",)),
    "AWS::AppMesh::GatewayRoute": Kind(
        "gatewayRoutes", "CreateGatewayRoute", ("VirtualGatewayName", "GatewayRouteName"), ("virtualGateway", "gatewayRoute")
    ),
}
# Refs (attribute None) and GetAtts of other types that are one of their properties, as their CloudFormation pages
# document them, when the template sets it
NAME_PROPERTIES = {
    ("AWS::ECS::Cluster", None): "ClusterName",
    ("AWS::ECS::Service", "Name"): "ServiceName",
    ("AWS::ServiceDiscovery::Service", "Name"): "Name",
}
# the Lattice rollout's own input keys (migration.gateways translates them): the mesh rollout has no gateways
LATTICE_ONLY = ("virtualGateways", "gatewayRoutes")
PROXIED_RESOURCE = re.compile(r"(?:^|:)mesh/([^/]+)/(virtualNode|virtualGateway)/([^/]+)$")
PROXY_VARIABLES = ("APPMESH_RESOURCE_ARN", "APPMESH_VIRTUAL_NODE_NAME")


def input_from_cloudformation(
    template: Any,
    overrides: dict[str, str],
    lattice: dict[str, Any] | None = None,
    ecs_services: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The rollout input of a template (its JSON form) with these parameter overrides (`Name=value` as
    `--parameter-overrides` gives them, pseudo parameters as `AWS::Region=...`, values the stack makes as
    `LogicalId=...` / `LogicalId.Attribute=...`); `lattice` is added as the input's lattice section, and
    `ecs_services`, when given, replaces the services found in the template."""
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise InvalidRolloutInput("Resources", "the template has no Resources section")
    transforms = template.get("Transform") or []
    for transform in [transforms] if isinstance(transforms, (str, dict)) else transforms:
        if transform != "AWS::Serverless-2016-10-31":  # SAM's leaves AWS::AppMesh resources as they are
            raise InvalidRolloutInput("Transform", f"{transform!r} may change the resources: give the processed template")
    translation = _Translation(template, overrides, for_lattice=lattice is not None)
    out = translation.requests()
    mesh_name = out["mesh"]["meshName"] if out else None
    out["ecsServices"] = ecs_services if ecs_services is not None else translation.ecs_services(mesh_name)
    if translation.unresolved:
        raise InvalidRolloutInput.of(translation.unresolved)
    if lattice is not None:
        out["lattice"] = lattice
    return out


class _Translation:
    def __init__(self, template: dict[str, Any], overrides: dict[str, str], for_lattice: bool) -> None:
        self.for_lattice = for_lattice
        self.resources: dict[str, Any] = template["Resources"]
        self.resolver = Resolver(template, overrides, self._attribute)
        self._resolving: set[str] = set()
        self.unresolved: list[tuple[str, str]] = []

    def _live(self) -> list[tuple[str, dict[str, Any]]]:
        """(logical id, resource) of the resources the stack would create (their Condition holds)."""
        live = []
        for logical_id, resource in self.resources.items():
            if not isinstance(resource, dict):
                raise InvalidRolloutInput(f"Resources.{logical_id}", "must be an object")
            condition = resource.get("Condition")
            if condition is None or self.resolver.condition(condition, f"Resources.{logical_id}.Condition"):
                live.append((logical_id, resource))
        return live

    def requests(self) -> dict[str, Any]:
        sections: dict[str, list[dict[str, Any]]] = {kind.section: [] for kind in KINDS.values()}
        for logical_id, resource in self._live():
            kind = KINDS.get(str(resource.get("Type")))
            if kind is None:
                continue
            where = f"Resources.{logical_id}"
            if kind.section in LATTICE_ONLY and not self.for_lattice:
                raise InvalidRolloutInput(
                    where, f"{resource['Type']}: only the Lattice rollout's input takes {kind.section} (give its lattice section)"
                )
            try:
                properties = self.resolver.resolve(resource.get("Properties") or {}, f"{where}.Properties")
            except Unresolvable as exc:
                self.unresolved += exc.problems  # every value still to give, said at once
                continue
            sections[kind.section].append(_api_shaped(properties, input_shape("appmesh", kind.operation), f"{where}.Properties"))
        if self.unresolved:
            return {}  # said with the ECS services' own, once those are read too
        mesh_names = {r["meshName"] for items in sections.values() for r in items if "meshName" in r}
        if len(sections["mesh"]) > 1 or len(mesh_names) > 1:
            raise InvalidRolloutInput(
                "Resources", f"the template holds more than one mesh ({sorted(mesh_names)}); the input takes one"
            )
        if not mesh_names:
            raise InvalidRolloutInput("Resources", "the template has no AWS::AppMesh resource")
        mesh = sections["mesh"][0] if sections["mesh"] else {"meshName": mesh_names.pop()}
        out: dict[str, Any] = {"mesh": mesh}
        out.update({section: items for section, items in sections.items() if section != "mesh" and items})
        return out

    def _attribute(self, logical_id: str, attribute: str | None, path: str) -> Any:
        """Ref (attribute None) and GetAtt of the template's resources, as CloudFormation documents them for the App
        Mesh and ECS types; None for what only the stack knows."""
        if logical_id in self._resolving:
            raise InvalidRolloutInput(path, f"{logical_id} refers to itself")
        resource = self.resources[logical_id]
        kind = KINDS.get(str(resource.get("Type")))
        properties = resource.get("Properties") or {}
        where = f"Resources.{logical_id}.Properties"
        self._resolving.add(logical_id)
        try:
            if kind is not None:
                return self._mesh_attribute(kind, properties, attribute, where, path)
            named_by = NAME_PROPERTIES.get((str(resource.get("Type")), attribute))
            if named_by in properties:
                return self.resolver.string(properties[named_by], f"{where}.{named_by}")
            return None  # named by the stack: an override gives it
        finally:
            self._resolving.discard(logical_id)

    def _mesh_attribute(self, kind: Kind, properties: dict[str, Any], attribute: str | None, where: str, used_at: str) -> Any:
        def name(prop: str) -> str:
            return self.resolver.string(properties.get(prop), f"{where}.{prop}")

        if attribute in ("MeshName", *kind.names):
            return name(attribute)
        if attribute in ("MeshOwner", "ResourceOwner"):
            owner = properties.get("MeshOwner")
            return self.resolver.string(owner, f"{where}.MeshOwner") if owner else self.resolver.ref("AWS::AccountId", used_at)
        if attribute not in (None, "Arn"):
            return None  # Uid: the stack's
        # the ARN's pseudo parameters are refused where the Ref or GetAtt is
        partition = self.resolver.ref("AWS::Partition", used_at)
        region = self.resolver.ref("AWS::Region", used_at)
        account = self.resolver.ref("AWS::AccountId", used_at)
        path = "".join(f"/{segment}/{name(prop)}" for segment, prop in zip(kind.arn_path, kind.names, strict=True))
        return f"arn:{partition}:appmesh:{region}:{account}:mesh/{name('MeshName')}{path}"

    def ecs_services(self, mesh_name: str | None) -> list[dict[str, Any]]:
        """The ECS services of the template that run an Envoy of this mesh's virtual nodes."""
        found = []
        for logical_id, resource in self._live():
            if resource.get("Type") != "AWS::ECS::Service":
                continue
            where = f"Resources.{logical_id}.Properties"
            properties = resource.get("Properties") or {}
            node = self._proxied_node(properties.get("TaskDefinition"), f"{where}.TaskDefinition")
            if node is None or node[1] != "virtualNode":
                continue  # not on the mesh, or a gateway's Envoy (no node to move)
            if mesh_name is not None and node[0] != mesh_name:
                raise InvalidRolloutInput(f"{where}.TaskDefinition", f"its Envoy is on mesh {node[0]!r}, not {mesh_name!r}")
            try:
                cluster = self.resolver.string(properties.get("Cluster", "default"), f"{where}.Cluster")
                service = (
                    self.resolver.string(properties["ServiceName"], f"{where}.ServiceName")
                    if "ServiceName" in properties
                    else str(self.resolver.value_of(logical_id, "Name", f"{where}.ServiceName"))
                )
            except Unresolvable as exc:
                self.unresolved += exc.problems
                continue
            found.append({"cluster": cluster, "service": service, "virtualNodeName": node[2]})
        return found

    def _proxied_node(self, task_definition: Any, where: str) -> tuple[str, str, str] | None:
        """(mesh, virtualNode|virtualGateway, name) of a task definition of the template that runs App Mesh's Envoy."""
        logical_id = task_definition.get("Ref") if isinstance(task_definition, dict) else None
        resource = self.resources.get(logical_id) if isinstance(logical_id, str) else None
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::ECS::TaskDefinition":
            return None
        properties = resource.get("Properties") or {}
        td_where = f"Resources.{logical_id}.Properties"
        for c, container in enumerate(properties.get("ContainerDefinitions") or []):
            for e, variable in enumerate(container.get("Environment") or [] if isinstance(container, dict) else []):
                if isinstance(variable, dict) and variable.get("Name") in PROXY_VARIABLES:
                    path = f"{td_where}.ContainerDefinitions[{c}].Environment[{e}].Value"
                    value = self.resolver.string(variable.get("Value"), path)
                    match = PROXIED_RESOURCE.search(value)
                    if match is None:
                        raise InvalidRolloutInput(path, f"{value!r} is not mesh/MESH/virtualNode/NAME")
                    return match.group(1), match.group(2), match.group(3)
        proxy = properties.get("ProxyConfiguration")
        if (
            isinstance(proxy, dict)
            and self.resolver.resolve(proxy.get("Type", "APPMESH"), f"{td_where}.ProxyConfiguration") == "APPMESH"
        ):
            raise InvalidRolloutInput(
                f"{td_where}.ContainerDefinitions",
                f"an APPMESH proxy configuration but no Envoy {' or '.join(PROXY_VARIABLES)}: give --ecs-services",
            )
        return None


def _api_shaped(value: Any, shape: Shape, path: str) -> Any:
    """A resolved CloudFormation property value in the API's shape: member names as the model spells them, strings
    that stand for numbers or booleans as numbers and booleans."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise InvalidRolloutInput(path, f"must be an object ({shape.name})")
        members = {name.lower(): name for name in shape.members}
        out = {}
        for key, item in value.items():
            member = members.get(key.lower())
            if member is None:
                raise InvalidRolloutInput(f"{path}.{key}", f"the App Mesh API's {shape.name} has no such field")
            out[member] = _api_shaped(item, shape.members[member], f"{path}.{key}")
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise InvalidRolloutInput(path, "must be a list")
        return [_api_shaped(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)]
    return _scalar(value, shape.type_name, path)


def _scalar(value: Any, type_name: str, path: str) -> Any:
    try:
        if type_name in ("integer", "long") and not isinstance(value, bool):
            return int(value)
        if type_name in ("float", "double"):
            return float(value)
    except (TypeError, ValueError):
        raise InvalidRolloutInput(path, f"{value!r} is not a number") from None
    if type_name == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if type_name == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value
