"""App Mesh requests derived from botocore's appmesh model: the minimal spec of each Create operation, and one spec
per optional member (what tests/offline/test_emulator_model.py sends to the emulated App Mesh)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape

MODEL = botocore.session.get_session().get_service_model("appmesh")
# Names that must point at resources of the world the emulator tests build (mesh apps, node, router).
REFERENCES = {"virtualNode": "node", "virtualNodeName": "node", "virtualRouterName": "router"}
Members = tuple[str, ...]


def scalar(shape: Shape, name: str) -> Any:
    """The smallest value the model allows: its first enum value, its minimum (or 1), a string of its minimum length."""
    low = shape.metadata.get("min")
    if shape.type_name == "boolean":
        return True
    if shape.type_name in ("integer", "long"):
        return 1 if low is None else low
    if getattr(shape, "enum", None):
        return shape.enum[0]
    return REFERENCES.get(name) or "x" * (low or 1)


def build(shape: Shape, extra: Members = (), name: str = "") -> Any:
    """The model's required members, recursively (one member of each union), plus the members on the `extra` path."""
    if isinstance(shape, ListShape):
        return [build(shape.member, extra, name)]
    if isinstance(shape, MapShape):
        return {"k": build(shape.value, extra, name)}
    if not isinstance(shape, StructureShape):
        return scalar(shape, name)
    if shape.is_tagged_union:
        chosen = {extra[0] if extra else next(iter(shape.members))}
    else:
        chosen = set(shape.required_members) | set(extra[:1])
    return {
        member: build(shape.members[member], extra[1:] if extra and member == extra[0] else (), member)
        for member in shape.members
        if member in chosen
    }


def optional_members(shape: Shape, path: Members = (), seen: frozenset[str] = frozenset()) -> Iterator[Members]:
    """Every member the model leaves optional (each union member counts), as a path from `shape`."""
    if isinstance(shape, ListShape | MapShape):
        yield from optional_members(shape.member if isinstance(shape, ListShape) else shape.value, path, seen)
        return
    if not isinstance(shape, StructureShape) or shape.name in seen:
        return
    for name, member in shape.members.items():
        if name not in shape.required_members:
            yield (*path, name)
        yield from optional_members(member, (*path, name), seen | {shape.name})


# Create operation -> (boto3 method suffix, response key, name member, the names of its parents in that world)
RESOURCES = {
    "CreateMesh": ("mesh", "mesh", "meshName", {}),
    "CreateVirtualNode": ("virtual_node", "virtualNode", "virtualNodeName", {"meshName": "apps"}),
    "CreateVirtualRouter": ("virtual_router", "virtualRouter", "virtualRouterName", {"meshName": "apps"}),
    "CreateRoute": ("route", "route", "routeName", {"meshName": "apps", "virtualRouterName": "router"}),
    "CreateVirtualService": ("virtual_service", "virtualService", "virtualServiceName", {"meshName": "apps"}),
}
SPEC_SHAPES = {operation: MODEL.operation_model(operation).input_shape.members["spec"] for operation in RESOURCES}


def spec_requests(operation: str) -> list[tuple[str, dict[str, Any]]]:
    """The minimal spec, then one spec per optional member of the model (with what that member requires)."""
    shape = SPEC_SHAPES[operation]
    return [("minimal", build(shape))] + [(".".join(path), build(shape, path)) for path in optional_members(shape)]
