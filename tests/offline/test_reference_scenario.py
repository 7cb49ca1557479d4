"""The AWS guide's scenario as one execution of the real ASL, checked against the guide's own CLI JSON."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.report import snapshot
from mesh_rollout_local.runner import OfflineAccount, RunResult
from tests.conftest import EVENTS, GUIDE, ROOT, load_json
from tests.support import as_registered

# the module-scoped world is built once: `--dist loadgroup` (Makefile) keeps this module on one pytest-xdist worker
pytestmark = pytest.mark.xdist_group("test_reference_scenario")

ENVOY_IMAGE = "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.39.1.0-prod"


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[list[RunResult], dict[str, Any]]]:
    """The scenario run twice in the guide's world; the world as it is after the first run."""
    with OfflineAccount(ROOT / "template.yaml") as account:
        account.apply_given(load_json(EVENTS / "local" / "apps-given.json"), EVENTS / "local")
        scenario = load_json(EVENTS / "mesh-rollout-apps.json")
        first = account.run("MeshRolloutStateMachine", scenario)
        world = snapshot(account)
        second = account.run("MeshRolloutStateMachine", scenario)
        yield [first, second], world


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_the_execution_succeeds(reference: tuple[list[RunResult], dict[str, Any]]) -> None:
    (first, _), _ = reference
    assert (first.status, first.error) == ("SUCCEEDED", None)
    assert first.output["meshName"] == "apps"
    assert [s["action"] for s in first.output["results"]["ecsServices"]] == ["updated"] * 3


def test_mesh_resources_equal_what_the_guides_cli_steps_produce(reference: tuple[list[RunResult], dict[str, Any]]) -> None:
    _, world = reference
    mesh = world["appmesh"]
    cli = GUIDE["cliRequests"]
    assert [m["meshName"] for m in mesh["meshes"]] == ["apps"]
    assert mesh["meshes"][0]["spec"]["egressFilter"] == {"type": "DROP_ALL"}  # create-mesh --mesh-name apps

    nodes = by_name(mesh["virtualNodes"], "virtualNodeName")
    assert set(nodes) == {"serviceA", "serviceB", "serviceBv2"}
    for request in (
        "create-virtual-node-serviceb.json",
        "create-virtual-node-servicebv2.json",
        "create-virtual-node-servicea.json",
    ):
        expected = cli[request]
        node = nodes[expected["virtualNodeName"]]
        assert (node["meshName"], node["spec"]) == (expected["meshName"], expected["spec"])

    routers = by_name(mesh["virtualRouters"], "virtualRouterName")
    assert set(routers) == {"serviceB"}
    assert routers["serviceB"]["spec"] == cli["create-virtual-router.json"]["spec"]

    (route,) = mesh["routes"]
    expected_route = cli["update-route.json"]  # the route after the guide's update: serviceB 75 / serviceBv2 25
    assert (route["virtualRouterName"], route["routeName"], route["spec"]) == (
        expected_route["virtualRouterName"],
        expected_route["routeName"],
        expected_route["spec"],
    )
    weights = {t["virtualNode"]: t["weight"] for t in route["spec"]["http2Route"]["action"]["weightedTargets"]}
    assert weights == {"serviceB": 75, "serviceBv2": 25}

    services = by_name(mesh["virtualServices"], "virtualServiceName")
    assert set(services) == {"serviceb.apps.local", "servicea.apps.local"}
    assert services["serviceb.apps.local"]["spec"] == cli["update-virtual-service.json"]["spec"]
    assert services["servicea.apps.local"]["spec"] == cli["create-virtual-servicea.json"]["spec"]


def described(world: dict[str, Any], family: str) -> dict[str, Any]:
    """The newest ACTIVE revision, less what ECS adds to every container definition."""
    td = max((t for t in world["ecs"]["taskDefinitions"] if t["family"] == family), key=lambda t: t["revision"])
    td = {k: copy.deepcopy(td[k]) for k in GUIDE["taskDefinitions"]["fargate"] if k in td}
    for container in td["containerDefinitions"]:
        for key, empty in (("cpu", 0), ("environment", []), ("mountPoints", []), ("volumesFrom", []), ("portMappings", [])):
            if container.get(key) == empty:
                del container[key]
    return td


def guide_example(variant: str, family: str, image: str, node: str) -> dict[str, Any]:
    example = copy.deepcopy(GUIDE["taskDefinitions"][variant])
    example["family"] = family
    app, envoy = example["containerDefinitions"][:2]
    app.update(name="app", image=image)
    app["dependsOn"][0]["containerName"] = "envoy"
    envoy["image"] = ENVOY_IMAGE
    envoy["environment"][0]["value"] = f"mesh/apps/virtualNode/{node}"
    return example


@pytest.mark.parametrize(
    ("family", "variant", "image", "node"),
    [
        ("taskB", "fargate", "example/serviceb:1.0", "serviceB"),
        ("taskBv2", "fargate_xray", "example/servicebv2:1.0", "serviceBv2"),
        ("taskA", "ec2_xray", "example/servicea:1.0", "serviceA"),
    ],
)
def test_task_definitions_have_exactly_the_guides_structure(
    reference: tuple[list[RunResult], dict[str, Any]], family: str, variant: str, image: str, node: str
) -> None:
    _, world = reference
    assert as_registered(described(world, family)) == as_registered(guide_example(variant, family, image, node))


def test_services_run_the_envoy_revisions(reference: tuple[list[RunResult], dict[str, Any]]) -> None:
    _, world = reference
    services = {s["serviceName"]: s for s in world["ecs"]["services"]}
    for name, family in (("serviceA", "taskA"), ("serviceB", "taskB"), ("serviceBv2", "taskBv2")):
        assert services[name]["taskDefinition"].endswith(f":task-definition/{family}:2")
        primary = [d for d in services[name]["deployments"] if d["status"] == "PRIMARY"]
        assert [(d["taskDefinition"], d["rolloutState"]) for d in primary] == [(services[name]["taskDefinition"], "COMPLETED")]


def test_the_mutating_calls_of_the_first_run_are_the_guides_steps(reference: tuple[list[RunResult], dict[str, Any]]) -> None:
    (first, _), _ = reference
    assert first.mutating_calls() == {
        "appmesh:CreateMesh": 1,
        "appmesh:CreateRoute": 1,
        "appmesh:CreateVirtualNode": 3,
        "appmesh:CreateVirtualRouter": 1,
        "appmesh:CreateVirtualService": 2,
        "appmesh:UpdateVirtualService": 1,
        "ecs:RegisterTaskDefinition": 3,
        "ecs:UpdateService": 3,
    }


def test_a_second_run_changes_nothing(reference: tuple[list[RunResult], dict[str, Any]]) -> None:
    (_, second), _ = reference
    assert second.status == "SUCCEEDED"
    assert second.mutating_calls() == {}
    assert second.api_calls  # it did look
    results = second.output["results"]
    assert {results["mesh"]["action"]} | {r["action"] for key in ("routes", "virtualServices") for r in results[key]} == {
        "unchanged"
    }
    assert [s["action"] for s in results["ecsServices"]] == ["unchanged"] * 3
    assert "UpdateService" not in second.states and "WaitForDeployment" not in second.states


def test_states_run_in_the_safe_order(reference: tuple[list[RunResult], dict[str, Any]]) -> None:
    (first, _), _ = reference
    order = [s for s in first.states if (s.startswith("Ensure") and s.endswith("s")) or s in ("ValidateRollout", "EnsureMesh")]
    assert order[:3] == ["ValidateRollout", "EnsureMesh", "EnsureVirtualServicePlaceholders"]
    assert order.index("EnsureRoutes") > max(order.index("EnsureVirtualNodes"), order.index("EnsureVirtualRouters"))
    assert order.index("EnsureVirtualServices") > order.index("EnsureRoutes")
    assert first.states.index("RolloutEcsServices") > first.states.index("EnsureVirtualServices")
    assert first.states[-1] == "Summarize"
