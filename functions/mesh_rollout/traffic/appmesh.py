"""The App Mesh backend of the traffic interface: a route's weighted targets are virtual nodes (weights 0-100)."""

from __future__ import annotations

import copy
from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, client, is_not_found, unless_missing
from mesh_rollout.errors import UnknownReference
from mesh_rollout.traffic import RouteState, Weights, WeightScale

ROUTE_KINDS = ("httpRoute", "http2Route", "grpcRoute", "tcpRoute")
# App Mesh: "The total weight for all targets combined must be less than or equal to 100", each weight 0..100
# (so all-zero weights are valid). https://docs.aws.amazon.com/app-mesh/latest/APIReference/API_WeightedTarget.html
MAX_TOTAL_WEIGHT = 100


def _route_kind(spec: dict[str, Any], label: str) -> str:
    kinds = [k for k in ROUTE_KINDS if k in spec]
    if len(kinds) != 1 or "weightedTargets" not in spec[kinds[0]].get("action", {}):
        raise UnknownReference("routeName", f"route {label} has no weighted targets to shift")
    return kinds[0]


def weights_of_spec(spec: dict[str, Any], label: str) -> Weights:
    """{virtualNode: weight} of an App Mesh route spec (pure)."""
    targets = spec[_route_kind(spec, label)]["action"]["weightedTargets"]
    weights: Weights = {}
    for target in targets:
        if target["virtualNode"] in weights:
            raise UnknownReference("routeName", f"route {label} lists virtual node {target['virtualNode']} twice")
        weights[target["virtualNode"]] = int(target["weight"])
    return weights


def spec_with_weights(spec: dict[str, Any], weights: Weights, label: str) -> dict[str, Any]:
    """The route spec with its weighted targets set to `weights`, in the order of `weights` (so a restore puts the
    snapshot back byte for byte); each target keeps its other fields, and every other field of the spec is kept."""
    new = copy.deepcopy(spec)
    action = new[_route_kind(new, label)]["action"]
    existing = {t["virtualNode"]: t for t in action["weightedTargets"]}
    # A new target gets the port the route's targets agree on (nodes with several listeners need one).
    ports = {t.get("port") for t in action["weightedTargets"]}
    port = {"port": ports.pop()} if len(ports) == 1 and None not in ports else {}
    action["weightedTargets"] = [
        dict(existing[n], weight=w) if n in existing else {"virtualNode": n, "weight": w, **port} for n, w in weights.items()
    ]
    return new


class AppMeshRoute:
    """An App Mesh route: weighted targets are virtual nodes; the snapshot is the route's spec."""

    # weights 0-100 each, at most 100 in total, up to 10 targets (API_WeightedTarget.html, API_HttpRouteAction)
    scale = WeightScale(max_weight=100, max_total=MAX_TOTAL_WEIGHT, max_targets=10, relative=False)

    def __init__(self, meshName: str, virtualRouterName: str, routeName: str, appmesh: Any = None) -> None:
        self.keys = {"meshName": meshName, "virtualRouterName": virtualRouterName, "routeName": routeName}
        self.label = f"{meshName}/{virtualRouterName}/{routeName}"
        self.appmesh = appmesh or client("appmesh")

    def _state(self, route: dict[str, Any]) -> RouteState:
        return RouteState(weights_of_spec(route["spec"], self.label), {"spec": route["spec"]}, route["metadata"]["version"])

    def read(self) -> RouteState:
        with aws_errors(f"DescribeRoute {self.label}"):
            return self._state(self.appmesh.describe_route(**self.keys)["route"])

    def write(self, weights: Weights, based_on: RouteState | None = None) -> RouteState:
        spec = spec_with_weights((based_on or self.read()).snapshot["spec"], weights, self.label)
        with aws_errors(f"UpdateRoute {self.label}"):
            return self._state(self.appmesh.update_route(**self.keys, spec=spec)["route"])

    def target_exists(self, target: str) -> bool:
        node = {"meshName": self.keys["meshName"], "virtualNodeName": target}
        return unless_missing(self.appmesh.describe_virtual_node, f"DescribeVirtualNode {target}", **node) is not None

    def other_uses(self, target: str) -> list[str]:
        return []  # other routes may target the node too; App Mesh itself refuses to delete a node in use

    def delete_target(self, target: str) -> bool:
        node = {"meshName": self.keys["meshName"], "virtualNodeName": target}
        return unless_missing(self.appmesh.delete_virtual_node, f"DeleteVirtualNode {target}", **node) is not None

    def check_exists(self) -> None:
        mesh, router = self.keys["meshName"], self.keys["virtualRouterName"]
        checks = [
            ("meshName", f"mesh {mesh!r} does not exist", "describe_mesh", {"meshName": mesh}),
            (
                "virtualRouterName",
                f"virtual router {router!r} does not exist in mesh {mesh!r}",
                "describe_virtual_router",
                {"meshName": mesh, "virtualRouterName": router},
            ),
            ("routeName", f"route {self.keys['routeName']!r} does not exist on router {router!r}", "describe_route", self.keys),
        ]
        for field, problem, operation, params in checks:
            try:
                getattr(self.appmesh, operation)(**params)
            except ClientError as exc:
                if is_not_found(exc):
                    raise UnknownReference(field, problem) from exc
                raise classify(exc, f"{operation} {self.label}") from exc


def from_reference(reference: dict[str, Any]) -> AppMeshRoute:
    return AppMeshRoute(reference["meshName"], reference["virtualRouterName"], reference["routeName"])


def resolve(fields: dict[str, Any], stable: str, canary: str) -> dict[str, Any]:
    """The route reference (nodes keep their names); UnknownReference naming the mesh, router or route if missing."""
    reference = {
        "backend": "appmesh",
        "meshName": fields["meshName"],
        "virtualRouterName": fields["virtualRouterName"],
        "routeName": fields["routeName"],
        "label": f"{fields['meshName']}/{fields['virtualRouterName']}/{fields['routeName']}",
    }
    return {"reference": reference, "stable": stable, "canary": canary, "arns": {}}


def dimension_value(resolved: dict[str, Any], target: str, cloudwatch: Any) -> str:
    """What "${target}" in a judge's metric template stands for: the virtual node's name (App Mesh publishes no
    metrics per node; these are the user's own, e.g. Envoy stats published with the node's name)."""
    return target


def target_metrics(resolved: dict[str, Any], target: str, latency_statistic: str, cloudwatch: Any) -> dict[str, Any]:
    """No metrics per virtual node: the input check refuses presets on App Mesh."""
    return {}
