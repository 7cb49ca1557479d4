"""Turn a rollout input into an ordered, checked plan of App Mesh requests (pure functions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesh_rollout.aws.specs import request_problems
from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.traffic.appmesh import MAX_TOTAL_WEIGHT

if TYPE_CHECKING:
    # build_requests loads the input model (pydantic) itself: the handlers that converge import this module (for
    # MeshInventory) but never parse an input, and their cold start skips pydantic (issue 13)
    from mesh_rollout.onboarding.inputs import RolloutSpec

ROUTE_KINDS = ("httpRoute", "http2Route", "grpcRoute", "tcpRoute")


@dataclass(frozen=True)
class Section:
    """One list of the input and the App Mesh create operation its items are requests for."""

    key: str
    operation: str
    name_keys: tuple[str, ...]


SECTIONS = (
    Section("virtualNodes", "CreateVirtualNode", ("virtualNodeName",)),
    Section("virtualRouters", "CreateVirtualRouter", ("virtualRouterName",)),
    Section("routes", "CreateRoute", ("virtualRouterName", "routeName")),
    Section("virtualServices", "CreateVirtualService", ("virtualServiceName",)),
)


@dataclass(frozen=True)
class MeshInventory:
    """Names that already exist in the mesh, read before planning."""

    exists: bool = False
    virtualNodes: frozenset[str] = field(default_factory=frozenset)
    virtualRouters: frozenset[str] = field(default_factory=frozenset)
    virtualServices: frozenset[str] = field(default_factory=frozenset)


def route_targets(spec: dict[str, Any], path: str = "spec") -> Iterator[tuple[str, str]]:
    """(field, virtual node name) for every weighted target of a RouteSpec."""
    for kind in ROUTE_KINDS:
        targets = spec.get(kind, {}).get("action", {}).get("weightedTargets", [])
        for index, target in enumerate(targets):
            yield f"{path}.{kind}.action.weightedTargets[{index}].virtualNode", target["virtualNode"]


def check_weighted_targets(spec: dict[str, Any], path: str = "spec") -> None:
    """A RouteSpec's weighted targets name each virtual node once and weigh at most 100 together."""
    for kind in ROUTE_KINDS:
        where = f"{path}.{kind}.action.weightedTargets"
        targets = spec.get(kind, {}).get("action", {}).get("weightedTargets", [])
        again = first_repeat([target["virtualNode"] for target in targets])
        if again:
            index, first = again
            raise InvalidRolloutInput(
                f"{where}[{index}].virtualNode", f"duplicates weightedTargets[{first}] ({targets[index]['virtualNode']})"
            )
        total = sum(target["weight"] for target in targets)
        if total > MAX_TOTAL_WEIGHT:  # App Mesh's documented limit (see MAX_TOTAL_WEIGHT); a total of 0 is valid
            raise InvalidRolloutInput(where, f"the weights sum to {total}, above App Mesh's maximum total of {MAX_TOTAL_WEIGHT}")


def first_repeat(keys: list[Any]) -> tuple[int, int] | None:
    """(index, index of its first occurrence) of the first key seen before, or None; None keys never repeat."""
    seen: dict[Any, int] = {}
    for index, key in enumerate(keys):
        if key is None:
            continue
        if key in seen:
            return index, seen[key]
        seen[key] = index
    return None


def backend_services(spec: dict[str, Any], path: str = "spec") -> Iterator[tuple[str, str]]:
    """(field, virtual service name) for every backend of a VirtualNodeSpec."""
    for index, backend in enumerate(spec.get("backends", [])):
        if "virtualService" in backend:
            name = backend["virtualService"]["virtualServiceName"]
            yield f"{path}.backends[{index}].virtualService.virtualServiceName", name


def provider_reference(spec: dict[str, Any], path: str = "spec") -> tuple[str, str, str] | None:
    """(field, section key, name) of a VirtualServiceSpec's provider, if it has one."""
    provider = spec.get("provider", {})
    if "virtualRouter" in provider:
        return (
            f"{path}.provider.virtualRouter.virtualRouterName",
            "virtualRouters",
            provider["virtualRouter"]["virtualRouterName"],
        )
    if "virtualNode" in provider:
        return f"{path}.provider.virtualNode.virtualNodeName", "virtualNodes", provider["virtualNode"]["virtualNodeName"]
    return None


def build_requests(raw: Any) -> tuple[RolloutSpec, dict[str, list[dict[str, Any]]]]:
    """Parse the input and turn each item into an App Mesh create request checked against the API model."""
    from mesh_rollout.onboarding.inputs import RolloutSpec
    from mesh_rollout.parsing import parse_input

    spec = parse_input(raw, RolloutSpec)
    mesh_name = spec.mesh.meshName
    mesh_request = dict(raw["mesh"])
    mesh_request.setdefault("spec", {})
    _reject_unsupported(mesh_request, "mesh")
    out: dict[str, list[dict[str, Any]]] = {"mesh": [mesh_request]}
    # Every request's shape is checked, and what is wrong with all of them reported together; the checks between
    # fields and items stop at the first malformed one (they run again once the input is well-formed).
    malformed = request_problems("appmesh", "CreateMesh", mesh_request, "mesh")
    for section in SECTIONS:
        seen: dict[tuple[str, ...], int] = {}
        requests = []
        for index, item in enumerate(raw.get(section.key) or []):
            where = f"{section.key}[{index}]"
            found = (
                request_problems("appmesh", section.operation, {**item, "meshName": mesh_name}, where)
                if isinstance(item, dict)
                else [(where, "must be an object")]
            )
            malformed.extend(found)
            if malformed:
                continue
            if item.get("meshName", mesh_name) != mesh_name:
                raise UnknownReference(f"{where}.meshName", f"{item['meshName']!r} is not this rollout's mesh {mesh_name!r}")
            _reject_unsupported(item, where)
            request = {**item, "meshName": mesh_name}
            _check_lists(section.key, request, where)
            key = tuple(str(request[k]) for k in section.name_keys)
            if key in seen:
                raise InvalidRolloutInput(where, f"duplicates {section.key}[{seen[key]}] ({'/'.join(key)})")
            seen[key] = index
            requests.append(request)
        out[section.key] = requests
    if malformed:
        raise InvalidRolloutInput.of(malformed)
    # A cluster or service may be given by name or by ARN; the name is the last part of the ARN.
    services = [f"{t.cluster.rsplit('/', 1)[-1]}/{t.service.rsplit('/', 1)[-1]}" for t in spec.ecsServices]
    again = first_repeat(services)
    if again:
        index, first = again
        raise InvalidRolloutInput(f"ecsServices[{index}]", f"duplicates ecsServices[{first}] ({services[index]})")
    return spec, out


def _check_lists(section: str, request: dict[str, Any], where: str) -> None:
    """What the API model cannot say about an item's lists: no entry twice, route weights within 100."""
    if section == "routes":
        check_weighted_targets(request["spec"], f"{where}.spec")
    if section == "virtualNodes":
        names = [b.get("virtualService", {}).get("virtualServiceName") for b in request["spec"].get("backends", [])]
        again = first_repeat(names)
        if again:
            index, first = again
            field = f"{where}.spec.backends[{index}].virtualService.virtualServiceName"
            raise InvalidRolloutInput(field, f"duplicates backends[{first}] ({names[index]})")


def _reject_unsupported(item: dict[str, Any], where: str) -> None:
    if "meshOwner" in item:
        raise InvalidRolloutInput(f"{where}.meshOwner", "shared meshes are not supported; run the rollout in the owner account")
    if "clientToken" in item:
        raise InvalidRolloutInput(f"{where}.clientToken", "mesh-rollout makes its calls idempotent itself; remove it")


def plan_rollout(spec: RolloutSpec, requests: dict[str, list[dict[str, Any]]], inventory: MeshInventory) -> dict[str, Any]:
    """Check every reference and return the requests in a safe order, with placeholders for cycles."""
    known = {
        section: {r[key] for r in requests[section]} | set(getattr(inventory, section))
        for section, key in (
            ("virtualNodes", "virtualNodeName"),
            ("virtualRouters", "virtualRouterName"),
            ("virtualServices", "virtualServiceName"),
        )
    }

    def require(section: str, name: str, where: str) -> None:
        if name not in known[section]:
            raise UnknownReference(where, f"{name!r} is neither in this input's {section} nor in mesh {spec.mesh.meshName!r}")

    for index, route in enumerate(requests["routes"]):
        where = f"routes[{index}]"
        require("virtualRouters", route["virtualRouterName"], f"{where}.virtualRouterName")
        for path, target in route_targets(route["spec"], f"{where}.spec"):
            require("virtualNodes", target, path)
    backends: set[str] = set()
    for index, node in enumerate(requests["virtualNodes"]):
        for path, backend in backend_services(node["spec"], f"virtualNodes[{index}].spec"):
            require("virtualServices", backend, path)
            backends.add(backend)
    for index, service in enumerate(requests["virtualServices"]):
        ref = provider_reference(service["spec"], f"virtualServices[{index}].spec")
        if ref:
            require(ref[1], ref[2], ref[0])
    for index, ecs_target in enumerate(spec.ecsServices):
        require("virtualNodes", ecs_target.virtualNodeName, f"ecsServices[{index}].virtualNodeName")

    # A node's backend must exist before the node; the service's provider must exist before the
    # service. Creating such services first without a provider (as the AWS guide does) breaks the cycle.
    placeholders = [
        {"meshName": s["meshName"], "virtualServiceName": s["virtualServiceName"], "spec": {}}
        for s in requests["virtualServices"]
        if s["virtualServiceName"] in backends and s["virtualServiceName"] not in inventory.virtualServices
    ]
    return {
        "meshName": spec.mesh.meshName,
        "mesh": requests["mesh"][0],
        "virtualServicePlaceholders": placeholders,
        "virtualNodes": requests["virtualNodes"],
        "virtualRouters": requests["virtualRouters"],
        "routes": requests["routes"],
        "virtualServices": requests["virtualServices"],
        "ecsServices": [{**target.model_dump(mode="json"), "meshName": spec.mesh.meshName} for target in spec.ecsServices],
    }
