"""The emulated App Mesh against botocore's appmesh model, not against moto: requests are derived from the model
(tests/support/appmesh_model.py; that they reach what users set: tests/unit/test_emulator_model.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import ListShape, Shape, StructureShape
from moto import mock_aws

from mesh_rollout.aws.specs import check_request, strip_empty
from mesh_rollout_local import emulator
from tests.support import error_of
from tests.support.appmesh_model import MODEL, RESOURCES, SPEC_SHAPES, spec_requests

WALKTHROUGHS = json.loads((Path(__file__).parents[1] / "data" / "appmesh-walkthrough-nodes.json").read_text())


@pytest.fixture
def appmesh() -> Iterator[Any]:
    """An emulated account with mesh `apps`, virtual node `node` and virtual router `router` (http, 8080)."""
    emulator.install()
    with mock_aws():
        client = boto3.client("appmesh", region_name="us-west-2")
        client.create_mesh(meshName="apps")
        client.create_virtual_node(meshName="apps", virtualNodeName="node", spec={})
        listener = {"portMapping": {"port": 8080, "protocol": "http"}}
        client.create_virtual_router(meshName="apps", virtualRouterName="router", spec={"listeners": [listener]})
        yield client


# What AWS stores for members a request leaves out.
SERVER_DEFAULTS = {"CreateMesh": {"egressFilter": {"type": "DROP_ALL"}}}


def request(operation: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    _, _, name_member, parents = RESOURCES[operation]
    return {**parents, name_member: name, "spec": spec}


def create_and_describe(appmesh: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The spec DescribeX returns after CreateX (which must return the same)."""
    method, key, _, _ = RESOURCES[operation]
    created = getattr(appmesh, f"create_{method}")(**params)[key]["spec"]
    described = getattr(appmesh, f"describe_{method}")(**{k: v for k, v in params.items() if k != "spec"})[key]["spec"]
    assert created == described
    return described  # type: ignore[no-any-return]


@pytest.mark.parametrize("operation", list(SPEC_SHAPES))
def test_what_the_model_accepts_is_accepted_and_described_back(appmesh: Any, operation: str) -> None:
    """Given each request the model accepts, When it is sent, Then it is accepted and described back as sent."""
    failures = []
    for index, (path, spec) in enumerate(spec_requests(operation)):
        params = request(operation, f"r{index}", spec)
        check_request("appmesh", operation, params, path)  # the request itself follows the model
        try:
            described = create_and_describe(appmesh, operation, params)
        except ClientError as error:
            failures.append(f"{path}: {error.response['Error']['Code']}: {error.response['Error']['Message']}")
            continue
        expected = SERVER_DEFAULTS.get(operation, {}) | spec
        if strip_empty(described) != strip_empty(expected):  # AWS treats empty objects and lists as absent
            failures.append(f"{path}: sent {spec}, described {described}")
    assert not failures, "\n".join(failures)


def http_route(*targets: dict[str, Any]) -> dict[str, Any]:
    return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": list(targets)}}}


@pytest.mark.parametrize(
    "spec",
    [
        http_route({"virtualNode": "node", "weight": 101}),
        http_route({"virtualNode": "node", "weight": 50, "port": 65536}),
        http_route(*[{"virtualNode": "node", "weight": 1}] * 11),
        {**http_route({"virtualNode": "node", "weight": 1}), "priority": 1001},
    ],
    ids=["weight-above-100", "port-above-65535", "eleven-targets", "priority-above-1000"],
)
def test_what_the_model_rejects_above_its_maximum_is_a_bad_request(appmesh: Any, spec: dict[str, Any]) -> None:
    """botocore checks only minimums; AWS checks maximums too (moto accepted a weight of 150)."""
    keys = {"meshName": "apps", "virtualRouterName": "router"}
    assert error_of(appmesh.create_route, **keys, routeName="r", spec=spec) == ("BadRequestException", 400)
    appmesh.create_route(**keys, routeName="r", spec=http_route({"virtualNode": "node", "weight": 1}))
    assert error_of(appmesh.update_route, **keys, routeName="r", spec=spec) == ("BadRequestException", 400)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("create_mesh", {"meshName": "m", "spec": {"egressFilter": {"type": "DENY_ALL"}}}),
        ("create_virtual_node", {"meshName": "apps", "virtualNodeName": "n", "spec": {"listeners": [{}]}}),
        (
            "create_virtual_node",
            {
                "meshName": "apps",
                "virtualNodeName": "n",
                "spec": {"serviceDiscovery": {"dns": {"hostname": "a"}, "awsCloudMap": {}}},
            },
        ),
        ("create_virtual_router", {"meshName": "apps", "virtualRouterName": "r", "spec": {"listeners": [{"portMapping": {}}]}}),
        ("create_virtual_service", {"meshName": "apps", "virtualServiceName": "s", "spec": {"provider": {}}}),
        (
            "update_virtual_node",
            {"meshName": "apps", "virtualNodeName": "node", "spec": {"logging": {"accessLog": {"file": {}}}}},
        ),
    ],
    ids=["unknown-enum", "listener-without-portMapping", "two-members-of-a-union", "portMapping-empty", "empty-union", "update"],
)
def test_requests_botocore_would_refuse_are_bad_requests(appmesh: Any, operation: str, params: dict[str, Any]) -> None:
    """With botocore's own validation off, the emulator still answers as AWS does: 400 BadRequestException."""
    unchecked = boto3.client("appmesh", region_name="us-west-2", config=Config(parameter_validation=False))
    assert error_of(getattr(unchecked, operation), **params) == ("BadRequestException", 400)


def test_a_weighted_target_must_name_a_virtual_node_of_the_mesh(appmesh: Any) -> None:
    """AWS answers 404 ("VirtualNode with name ... is missing"); moto stored the route."""
    keys = {"meshName": "apps", "virtualRouterName": "router", "routeName": "r"}
    missing = http_route({"virtualNode": "node", "weight": 50}, {"virtualNode": "ghost", "weight": 50})
    assert error_of(appmesh.create_route, **keys, spec=missing) == ("NotFoundException", 404)
    appmesh.create_route(**keys, spec=http_route({"virtualNode": "node", "weight": 100}))
    assert error_of(appmesh.update_route, **keys, spec=missing) == ("NotFoundException", 404)
    assert error_of(appmesh.create_route, **keys | {"meshName": "nomesh"}, spec=missing) == ("NotFoundException", 404)


@pytest.mark.parametrize("source", sorted(WALKTHROUGHS))
def test_aws_walkthrough_nodes_with_cloud_map_run_offline(appmesh: Any, source: str) -> None:
    """AWS's App Mesh walkthroughs create Cloud Map nodes without `attributes`; the API model makes it optional."""
    params = {"meshName": "apps", **WALKTHROUGHS[source]}
    check_request("appmesh", "CreateVirtualNode", params, "virtualNodes[0]")
    appmesh.create_virtual_node(**params)
    described = appmesh.describe_virtual_node(meshName="apps", virtualNodeName=params["virtualNodeName"])["virtualNode"]
    assert described["spec"] == params["spec"]


def missing_members(value: Any, shape: Shape, path: str) -> list[str]:
    """Every required output member absent from `value` (as botocore parsed it), and values of the wrong kind."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        found = [f"{path}.{name}" for name in shape.required_members if name not in value]
        for name, item in value.items():
            if name in shape.members:
                found += missing_members(item, shape.members[name], f"{path}.{name}")
        return found
    if isinstance(shape, ListShape):
        return [m for i, item in enumerate(value) for m in missing_members(item, shape.member, f"{path}[{i}]")]
    if shape.type_name == "timestamp" and not isinstance(value, dt.datetime):
        return [f"{path}: not a timestamp"]
    return []


ROUTE_KEYS = {"meshName": "apps", "virtualRouterName": "router", "routeName": "route"}
OUTPUT_CALLS = [
    ("DescribeMesh", {"meshName": "apps"}),
    ("DescribeVirtualNode", {"meshName": "apps", "virtualNodeName": "node"}),
    ("DescribeVirtualRouter", {"meshName": "apps", "virtualRouterName": "router"}),
    ("DescribeRoute", ROUTE_KEYS),
    ("DescribeVirtualService", {"meshName": "apps", "virtualServiceName": "svc.apps.local"}),
    ("UpdateRoute", ROUTE_KEYS | {"spec": http_route({"virtualNode": "node", "weight": 100})}),
    ("UpdateVirtualNode", {"meshName": "apps", "virtualNodeName": "node", "spec": {}}),
    ("ListVirtualNodes", {"meshName": "apps"}),
    ("ListVirtualRouters", {"meshName": "apps"}),
    ("ListRoutes", {"meshName": "apps", "virtualRouterName": "router"}),
    ("ListVirtualServices", {"meshName": "apps"}),
    ("DeleteVirtualNode", {"meshName": "apps", "virtualNodeName": "spare"}),
]


@pytest.mark.parametrize(("operation", "params"), OUTPUT_CALLS, ids=[op for op, _ in OUTPUT_CALLS])
def test_responses_carry_every_member_the_output_shape_requires(appmesh: Any, operation: str, params: dict[str, Any]) -> None:
    """Each response mesh-rollout reads holds what the model's output shape requires (metadata, status, ...)."""
    appmesh.create_route(**ROUTE_KEYS, spec=http_route({"virtualNode": "node", "weight": 100}))
    service = {"provider": {"virtualRouter": {"virtualRouterName": "router"}}}
    appmesh.create_virtual_service(meshName="apps", virtualServiceName="svc.apps.local", spec=service)
    appmesh.create_virtual_node(meshName="apps", virtualNodeName="spare", spec={})
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
    response = getattr(appmesh, snake)(**params)
    response.pop("ResponseMetadata")
    assert missing_members(response, MODEL.operation_model(operation).output_shape, operation) == []
