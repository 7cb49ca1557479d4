"""Planning: input checks against the App Mesh model, references, order and placeholders (no AWS)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.onboarding.plan import MeshInventory, build_requests, plan_rollout
from tests.support import DELETE, mutate


def plan(raw: dict[str, Any], inventory: MeshInventory | None = None) -> dict[str, Any]:
    spec, requests = build_requests(raw)
    return plan_rollout(spec, requests, inventory or MeshInventory())


def test_reference_scenario_plan_orders_and_breaks_the_cycle(scenario: dict[str, Any]) -> None:
    result = plan(scenario)
    # serviceA's backend serviceb.apps.local must exist before serviceA: it is created first, provider-less
    assert result["virtualServicePlaceholders"] == [{"meshName": "apps", "virtualServiceName": "serviceb.apps.local", "spec": {}}]
    assert [n["virtualNodeName"] for n in result["virtualNodes"]] == ["serviceB", "serviceBv2", "serviceA"]
    assert all(
        r["meshName"] == "apps" for key in ("virtualNodes", "virtualRouters", "routes", "virtualServices") for r in result[key]
    )
    assert result["mesh"] == {"meshName": "apps", "spec": {}}
    assert result["ecsServices"][1] == {
        "cluster": "apps",
        "service": "serviceBv2",
        "virtualNodeName": "serviceBv2",
        "appContainer": None,
        "appPorts": None,
        "envoyImage": None,
        "xray": True,
        "xrayImage": "amazon/aws-xray-daemon",
        "proxyConfiguration": {"type": "APPMESH", "containerName": None, "properties": []},
        "deploymentTimeoutSeconds": 1800,
        "deploymentPollSeconds": 15,
        "meshName": "apps",
    }


def test_existing_services_need_no_placeholder(scenario: dict[str, Any]) -> None:
    result = plan(scenario, MeshInventory(exists=True, virtualServices=frozenset({"serviceb.apps.local"})))
    assert result["virtualServicePlaceholders"] == []


def test_only_the_mesh_is_required() -> None:
    result = plan({"mesh": {"meshName": "apps"}})
    assert result["mesh"] == {"meshName": "apps", "spec": {}}
    assert all(result[k] == [] for k in ("virtualNodes", "virtualRouters", "routes", "virtualServices", "ecsServices"))


def test_references_to_existing_resources_are_accepted(scenario: dict[str, Any]) -> None:
    raw = {"mesh": {"meshName": "apps"}, "routes": scenario["routes"]}
    inventory = MeshInventory(
        exists=True, virtualNodes=frozenset({"serviceB", "serviceBv2"}), virtualRouters=frozenset({"serviceB"})
    )
    assert plan(raw, inventory)["routes"][0]["routeName"] == "serviceB"


BAD_INPUTS = [
    ("missing mesh name", "mesh/meshName", DELETE, InvalidRolloutInput, "mesh.meshName: Field required"),
    ("missing node spec", "virtualNodes/0/spec", DELETE, InvalidRolloutInput, "virtualNodes[0].spec: is required"),
    (
        "weight of 101",
        "routes/0/spec/http2Route/action/weightedTargets/1/weight",
        101,
        InvalidRolloutInput,
        "routes[0].spec.http2Route.action.weightedTargets[1].weight: 101 is above the maximum 100",
    ),
    (
        "route to an unknown node",
        "routes/0/spec/http2Route/action/weightedTargets/1/virtualNode",
        "serviceBv3",
        UnknownReference,
        "routes[0].spec.http2Route.action.weightedTargets[1].virtualNode: 'serviceBv3' is neither",
    ),
    (
        "unknown mesh reference",
        "virtualRouters/0/meshName",
        "other",
        UnknownReference,
        "virtualRouters[0].meshName: 'other' is not",
    ),
    (
        "malformed spec: port as text",
        "virtualNodes/1/spec/listeners/0/portMapping/port",
        "eighty",
        InvalidRolloutInput,
        "virtualNodes[1].spec.listeners[0].portMapping.port: must be a integer",
    ),
    (
        "malformed spec: unknown protocol",
        "virtualRouters/0/spec/listeners/0/portMapping/protocol",
        "http3",
        InvalidRolloutInput,
        "virtualRouters[0].spec.listeners[0].portMapping.protocol: must be one of",
    ),
    (
        "malformed spec: typo in a field",
        "virtualNodes/0/spec/serviceDiscovery",
        {"dnss": {"hostname": "x"}},
        InvalidRolloutInput,
        "virtualNodes[0].spec.serviceDiscovery.dnss: is not a field of ServiceDiscovery",
    ),
    (
        "provider with two kinds",
        "virtualServices/1/spec/provider/virtualRouter",
        {"virtualRouterName": "serviceB"},
        InvalidRolloutInput,
        "virtualServices[1].spec.provider: must set exactly one of",
    ),
    (
        "backend to an unknown service",
        "virtualNodes/2/spec/backends/0/virtualService/virtualServiceName",
        "servicec.apps.local",
        UnknownReference,
        "virtualNodes[2].spec.backends[0].virtualService.virtualServiceName: 'servicec.apps.local'",
    ),
    (
        "ecs node unknown",
        "ecsServices/0/virtualNodeName",
        "serviceC",
        UnknownReference,
        "ecsServices[0].virtualNodeName: 'serviceC'",
    ),
    (
        "ecs field of wrong type",
        "ecsServices/0/xray",
        "yes",
        InvalidRolloutInput,
        "ecsServices[0].xray: Input should be a valid boolean",
    ),
    (
        "unknown top-level field",
        "virtualGateways",
        [],
        InvalidRolloutInput,
        "virtualGateways: unknown field; known fields: ecsServices, maxConcurrentDeployments, mesh, routes, virtualNodes,",
    ),
    ("shared mesh", "virtualNodes/0/meshOwner", "111122223333", InvalidRolloutInput, "virtualNodes[0].meshOwner: shared meshes"),
    (
        "weights summing to 150",
        "routes/0/spec/http2Route/action/weightedTargets/1/weight",
        75,
        InvalidRolloutInput,
        "routes[0].spec.http2Route.action.weightedTargets: the weights sum to 150, above App Mesh's maximum total of 100",
    ),
    (
        "same node twice in a route",
        "routes/0/spec/http2Route/action/weightedTargets/1/virtualNode",
        "serviceB",
        InvalidRolloutInput,
        "routes[0].spec.http2Route.action.weightedTargets[1].virtualNode: duplicates weightedTargets[0] (serviceB)",
    ),
    (
        "same ECS service twice",
        "ecsServices/2/service",
        "serviceB",
        InvalidRolloutInput,
        "ecsServices[2]: duplicates ecsServices[0] (apps/serviceB)",
    ),
]


@pytest.mark.parametrize(("case", "path", "value", "error", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_names_the_field(scenario: dict[str, Any], case: str, path: str, value: Any, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        plan(mutate(scenario, path, value))
    assert type(caught.value) is error
    assert str(caught.value).startswith(message)


def test_duplicate_names_are_rejected(scenario: dict[str, Any]) -> None:
    scenario["virtualNodes"].append(copy.deepcopy(scenario["virtualNodes"][0]))
    with pytest.raises(InvalidRolloutInput, match=r"^virtualNodes\[3\]: duplicates virtualNodes\[0\] \(serviceB\)"):
        plan(scenario)


def test_the_same_ecs_service_by_name_and_by_arn_is_a_duplicate(scenario: dict[str, Any]) -> None:
    scenario["ecsServices"][2] |= {
        "cluster": "arn:aws:ecs:us-west-2:123456789012:cluster/apps",
        "service": "arn:aws:ecs:us-west-2:123456789012:service/apps/serviceBv2",
    }
    with pytest.raises(InvalidRolloutInput, match=r"^ecsServices\[2\]: duplicates ecsServices\[1\] \(apps/serviceBv2\)$"):
        plan(scenario)


def test_the_same_backend_twice_is_rejected(scenario: dict[str, Any]) -> None:
    backends = scenario["virtualNodes"][2]["spec"]["backends"]
    backends.append(copy.deepcopy(backends[0]))
    with pytest.raises(
        InvalidRolloutInput,
        match=r"^virtualNodes\[2\]\.spec\.backends\[1\]\.virtualService\.virtualServiceName: duplicates backends\[0\]",
    ):
        plan(scenario)


@pytest.mark.parametrize("weights", [(100, 0), (60, 40), (0, 0)])
def test_route_weights_summing_to_at_most_100_are_accepted(scenario: dict[str, Any], weights: tuple[int, int]) -> None:
    # App Mesh only bounds the total from above; a route whose targets all weigh 0 is valid
    for target, weight in zip(scenario["routes"][0]["spec"]["http2Route"]["action"]["weightedTargets"], weights, strict=True):
        target["weight"] = weight
    assert plan(scenario)["routes"][0]["spec"] == scenario["routes"][0]["spec"]


def test_a_json_string_holding_an_object_is_rejected(scenario: dict[str, Any]) -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        build_requests(json.dumps(scenario))
    assert str(caught.value).startswith("(input): must be a JSON object, got a string holding a JSON object")


@pytest.mark.parametrize("raw", [[], "apps", None, {"mesh": "apps"}])
def test_input_that_is_not_an_object_is_rejected(raw: Any) -> None:
    with pytest.raises(InvalidRolloutInput):
        build_requests(raw)
