"""The moto extension: virtual services, App Mesh error codes, CreateMesh conflicts, ECS deployments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import ROOT
from tests.support import error_of


@pytest.fixture
def emulated() -> Iterator[OfflineAccount]:
    """A fresh empty account for each test, not conftest.py's one shared by the module: these tests each create
    the mesh `apps` and look at what only they did."""
    with OfflineAccount(ROOT / "template.yaml") as account:
        yield account


def test_virtual_service_lifecycle_follows_the_model(emulated: OfflineAccount) -> None:
    appmesh = emulated.client("appmesh")
    appmesh.create_mesh(meshName="apps")
    created = appmesh.create_virtual_service(meshName="apps", virtualServiceName="serviceb.apps.local", spec={})["virtualService"]
    assert created["metadata"]["arn"] == "arn:aws:appmesh:us-west-2:123456789012:mesh/apps/virtualService/serviceb.apps.local"
    assert (created["spec"], created["status"], created["metadata"]["version"]) == ({}, {"status": "ACTIVE"}, 1)

    router = {"provider": {"virtualRouter": {"virtualRouterName": "serviceB"}}}
    assert error_of(appmesh.update_virtual_service, meshName="apps", virtualServiceName="serviceb.apps.local", spec=router) == (
        "NotFoundException",
        404,
    )
    appmesh.create_virtual_router(
        meshName="apps", virtualRouterName="serviceB", spec={"listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}]}
    )
    updated = appmesh.update_virtual_service(meshName="apps", virtualServiceName="serviceb.apps.local", spec=router)[
        "virtualService"
    ]
    assert (updated["spec"], updated["metadata"]["version"]) == (router, 2)
    assert (
        appmesh.describe_virtual_service(meshName="apps", virtualServiceName="serviceb.apps.local")["virtualService"]["spec"]
        == router
    )

    assert error_of(appmesh.create_virtual_service, meshName="apps", virtualServiceName="serviceb.apps.local", spec={}) == (
        "ConflictException",
        409,
    )
    deleted = appmesh.delete_virtual_service(meshName="apps", virtualServiceName="serviceb.apps.local")["virtualService"]
    assert deleted["status"] == {"status": "DELETED"}
    assert error_of(appmesh.describe_virtual_service, meshName="apps", virtualServiceName="serviceb.apps.local") == (
        "NotFoundException",
        404,
    )
    assert error_of(appmesh.list_virtual_services, meshName="nomesh") == ("NotFoundException", 404)


def test_virtual_services_paginate(emulated: OfflineAccount) -> None:
    appmesh = emulated.client("appmesh")
    appmesh.create_mesh(meshName="apps")
    names = [f"s{i}.apps.local" for i in range(5)]
    for name in names:
        appmesh.create_virtual_service(meshName="apps", virtualServiceName=name, spec={})
    first = appmesh.list_virtual_services(meshName="apps", limit=2)
    assert [s["virtualServiceName"] for s in first["virtualServices"]] == names[:2]
    pages = appmesh.get_paginator("list_virtual_services").paginate(meshName="apps", PaginationConfig={"PageSize": 2})
    assert [s["virtualServiceName"] for page in pages for s in page["virtualServices"]] == names


def test_app_mesh_errors_carry_the_model_codes(emulated: OfflineAccount) -> None:
    appmesh = emulated.client("appmesh")
    assert error_of(appmesh.describe_mesh, meshName="apps") == ("NotFoundException", 404)
    appmesh.create_mesh(meshName="apps")
    spec = {"listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}]}
    appmesh.create_virtual_router(meshName="apps", virtualRouterName="r", spec=spec)
    assert error_of(appmesh.create_virtual_router, meshName="apps", virtualRouterName="r", spec=spec) == (
        "ConflictException",
        409,
    )
    assert error_of(appmesh.describe_virtual_node, meshName="apps", virtualNodeName="n") == ("NotFoundException", 404)


def test_create_mesh_never_replaces_an_existing_mesh(emulated: OfflineAccount) -> None:
    appmesh = emulated.client("appmesh")
    mesh = appmesh.create_mesh(meshName="apps")["mesh"]
    assert mesh["spec"]["egressFilter"] == {"type": "DROP_ALL"}
    assert mesh["metadata"]["arn"] == "arn:aws:appmesh:us-west-2:123456789012:mesh/apps"
    appmesh.create_virtual_service(meshName="apps", virtualServiceName="a.apps.local", spec={})
    assert error_of(appmesh.create_mesh, meshName="apps") == ("ConflictException", 409)
    assert appmesh.describe_virtual_service(meshName="apps", virtualServiceName="a.apps.local")["virtualService"]


def register(ecs: Any, image: str) -> str:
    return str(
        ecs.register_task_definition(family="t", containerDefinitions=[{"name": "a", "image": image, "memory": 128}])[
            "taskDefinition"
        ]["taskDefinitionArn"]
    )


def deployments(ecs: Any) -> list[tuple[str, str, str]]:
    service = ecs.describe_services(cluster="apps", services=["s"])["services"][0]
    return [(d["status"], d["rolloutState"], d["taskDefinition"].rsplit("/", 1)[-1]) for d in service["deployments"]]


def test_update_service_starts_a_deployment_that_completes(emulated: OfflineAccount) -> None:
    ecs = emulated.client("ecs")
    ecs.create_cluster(clusterName="apps")
    ecs.create_service(cluster="apps", serviceName="s", taskDefinition=register(ecs, "v1"), desiredCount=2)
    ecs.update_service(cluster="apps", service="s", taskDefinition=register(ecs, "v2"))
    assert deployments(ecs)[0] == ("PRIMARY", "IN_PROGRESS", "t:2")
    assert deployments(ecs) == [("PRIMARY", "COMPLETED", "t:2")]
    service = ecs.describe_services(cluster="apps", services=["s"])["services"][0]
    assert (service["runningCount"], service["deployments"][0]["runningCount"]) == (2, 2)


def test_a_tagged_service_fails_its_next_deployment_only(emulated: OfflineAccount) -> None:
    ecs = emulated.client("ecs")
    ecs.create_cluster(clusterName="apps")
    v1 = register(ecs, "v1")
    ecs.create_service(
        cluster="apps",
        serviceName="s",
        taskDefinition=v1,
        desiredCount=2,
        tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}],
    )
    ecs.update_service(cluster="apps", service="s", taskDefinition=register(ecs, "v2"))
    deployments(ecs)
    assert deployments(ecs)[0] == ("PRIMARY", "FAILED", "t:2")
    ecs.update_service(cluster="apps", service="s", taskDefinition=v1)
    deployments(ecs)
    assert deployments(ecs) == [("PRIMARY", "COMPLETED", "t:1")]


def test_an_unchanged_task_definition_starts_no_deployment(emulated: OfflineAccount) -> None:
    ecs = emulated.client("ecs")
    ecs.create_cluster(clusterName="apps")
    v1 = register(ecs, "v1")
    ecs.create_service(cluster="apps", serviceName="s", taskDefinition=v1, desiredCount=1)
    ids = lambda: [d["id"] for d in ecs.describe_services(cluster="apps", services=["s"])["services"][0]["deployments"]]  # noqa: E731
    before = ids()
    ecs.update_service(cluster="apps", service="s", desiredCount=1)
    assert ids() == before


def test_a_new_services_first_deployment_completes_as_any_other(emulated: OfflineAccount) -> None:
    ecs = emulated.client("ecs")
    ecs.create_cluster(clusterName="apps")
    ecs.create_service(cluster="apps", serviceName="s", taskDefinition=register(ecs, "v1"), desiredCount=1)
    assert deployments(ecs) == [("PRIMARY", "IN_PROGRESS", "t:1")]
    assert deployments(ecs) == [("PRIMARY", "COMPLETED", "t:1")]
