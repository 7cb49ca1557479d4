"""Converge App Mesh resources: describe, then create or update only what differs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from mesh_rollout.aws import aws_errors, unless_missing
from mesh_rollout.aws.specs import check_request, same_spec
from mesh_rollout.onboarding.plan import MeshInventory


@dataclass(frozen=True)
class Kind:
    """An App Mesh resource type: its API noun, identifying keys and server-side spec defaults."""

    noun: str
    name_keys: tuple[str, ...]
    spec_defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def result_key(self) -> str:
        return self.noun[0].lower() + self.noun[1:]

    @property
    def snake(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.noun).lower()


KINDS = {
    "mesh": Kind("Mesh", ("meshName",), {"egressFilter": {"type": "DROP_ALL"}}),
    "virtualNode": Kind("VirtualNode", ("meshName", "virtualNodeName")),
    "virtualRouter": Kind("VirtualRouter", ("meshName", "virtualRouterName")),
    "route": Kind("Route", ("meshName", "virtualRouterName", "routeName")),
    "virtualService": Kind("VirtualService", ("meshName", "virtualServiceName")),
}


def describe(appmesh: Any, kind: Kind, keys: dict[str, str]) -> dict[str, Any] | None:
    """The resource as AWS holds it, or None if it does not exist."""
    response = unless_missing(
        getattr(appmesh, f"describe_{kind.snake}"), f"Describe{kind.noun} {'/'.join(keys.values())}", **keys
    )
    return None if response is None else dict(response[kind.result_key])


class MeshResourceEnsured(TypedDict):
    """EnsureMesh's, EnsureVirtualNode's and EnsureRouter's result: what was done to one App Mesh resource."""

    kind: str
    name: str
    action: str  # created, updated or unchanged
    version: int


def ensure_resource(appmesh: Any, kind_key: str, request: dict[str, Any], *, create_only: bool = False) -> MeshResourceEnsured:
    """Create the resource if missing, update it if its spec differs; report what was done."""
    kind = KINDS[kind_key]
    check_request("appmesh", f"Create{kind.noun}", request, "request")
    keys = {k: request[k] for k in kind.name_keys}
    label = "/".join(keys.values())
    current = describe(appmesh, kind, keys)
    if current is None:
        action = "created"
        with aws_errors(f"Create{kind.noun} {label}"):
            current = getattr(appmesh, f"create_{kind.snake}")(**request)[kind.result_key]
    elif create_only or same_spec(request.get("spec", {}), current.get("spec", {}), kind.spec_defaults):
        action = "unchanged"
    else:
        action = "updated"
        with aws_errors(f"Update{kind.noun} {label}"):
            current = getattr(appmesh, f"update_{kind.snake}")(**keys, spec=request.get("spec", {}))[kind.result_key]
    return {"kind": kind.noun, "name": label, "action": action, "version": current["metadata"]["version"]}


def _names(pages: Any, list_key: str, name_key: str) -> frozenset[str]:
    return frozenset(item[name_key] for page in pages for item in page[list_key])


def inventory(appmesh: Any, mesh_name: str) -> MeshInventory:
    """Names of the nodes, routers and services that already exist in the mesh."""
    if describe(appmesh, KINDS["mesh"], {"meshName": mesh_name}) is None:
        return MeshInventory()
    with aws_errors(f"List resources of mesh {mesh_name}"):
        return MeshInventory(
            exists=True,
            virtualNodes=_names(
                appmesh.get_paginator("list_virtual_nodes").paginate(meshName=mesh_name), "virtualNodes", "virtualNodeName"
            ),
            virtualRouters=_names(
                appmesh.get_paginator("list_virtual_routers").paginate(meshName=mesh_name),
                "virtualRouters",
                "virtualRouterName",
            ),
            virtualServices=_names(
                appmesh.get_paginator("list_virtual_services").paginate(meshName=mesh_name),
                "virtualServices",
                "virtualServiceName",
            ),
        )
