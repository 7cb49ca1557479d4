"""The task-definition rewrite against the AWS guide's four example task definitions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mesh_rollout.envoy import (
    SidecarSettings,
    check_envoy_compatibility,
    default_envoy_image,
    inject_envoy_sidecar,
    same_task_definition,
)
from mesh_rollout.errors import IncompatibleTaskDefinition, InvalidRolloutInput

GUIDE_IMAGE = "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.12.1.0-prod"
INT_FIELDS = {"cpu", "memory", "memoryReservation"}


def before_mesh(example: dict[str, Any]) -> dict[str, Any]:
    """The guide's task definition as it was before App Mesh: no sidecars, no proxy, no dependsOn."""
    td = copy.deepcopy(example)
    td.pop("proxyConfiguration")
    td["containerDefinitions"] = [c for c in td["containerDefinitions"] if c["name"] not in ("envoy", "xray-daemon")]
    for container in td["containerDefinitions"]:
        container.pop("dependsOn")
    return td


def as_registered(example: dict[str, Any]) -> dict[str, Any]:
    """The guide writes some integers as strings ("500"); ECS's API takes integers there."""
    td = copy.deepcopy(example)
    for container in td["containerDefinitions"]:
        for key in INT_FIELDS & set(container):
            container[key] = int(container[key])
    props = td["proxyConfiguration"]["properties"]
    td["proxyConfiguration"]["properties"] = sorted(props, key=lambda p: p["name"])
    return td


def settings(xray: bool, **overrides: Any) -> SidecarSettings:
    return SidecarSettings(mesh_name="apps", virtual_node_name="serviceB", envoy_image=GUIDE_IMAGE, xray=xray, **overrides)


@pytest.mark.parametrize("variant", ["fargate", "fargate_xray", "ec2", "ec2_xray"])
def test_injection_reproduces_the_guide_example_exactly(guide: dict[str, Any], variant: str) -> None:
    # Given the guide's taskB as it was before the mesh
    example = guide["taskDefinitions"][variant]
    # When the sidecar is injected with the guide's settings
    result = inject_envoy_sidecar(before_mesh(example), settings(xray=variant.endswith("xray")))
    # Then the result is the guide's example, field for field
    assert as_registered(result) == as_registered(example)


@pytest.mark.parametrize("variant", ["fargate", "fargate_xray", "ec2", "ec2_xray"])
def test_injection_is_idempotent(guide: dict[str, Any], variant: str) -> None:
    once = inject_envoy_sidecar(before_mesh(guide["taskDefinitions"][variant]), settings(xray="xray" in variant))
    assert inject_envoy_sidecar(once, settings(xray="xray" in variant)) == once


def test_overrides_replace_the_guide_defaults_and_keep_other_environment(guide: dict[str, Any]) -> None:
    td = before_mesh(guide["taskDefinitions"]["ec2"])
    td["containerDefinitions"].append(
        {"name": "envoy", "image": "old", "environment": [{"name": "ENVOY_LOG_LEVEL", "value": "debug"}]}
    )
    custom = settings(
        xray=False,
        app_ports=(9080, 9443),
        proxy_overrides=(("IgnoredUID", "2000"), ("EgressIgnoredPorts", "22")),
    )
    result = inject_envoy_sidecar(td, custom)
    envoy = next(c for c in result["containerDefinitions"] if c["name"] == "envoy")
    props = {p["name"]: p["value"] for p in result["proxyConfiguration"]["properties"]}
    assert props == {
        "IgnoredUID": "2000",
        "ProxyIngressPort": "15000",
        "ProxyEgressPort": "15001",
        "AppPorts": "9080,9443",
        "EgressIgnoredIPs": "169.254.170.2,169.254.169.254",
        "EgressIgnoredPorts": "22",
    }
    assert envoy["user"] == "2000"
    assert envoy["image"] == GUIDE_IMAGE
    assert envoy["environment"] == [
        {"name": "ENVOY_LOG_LEVEL", "value": "debug"},
        {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": "mesh/apps/virtualNode/serviceB"},
    ]


def test_turning_xray_off_removes_the_tracing_flag(guide: dict[str, Any]) -> None:
    with_xray = inject_envoy_sidecar(before_mesh(guide["taskDefinitions"]["ec2_xray"]), settings(xray=True))
    without = inject_envoy_sidecar(with_xray, settings(xray=False))
    envoy = next(c for c in without["containerDefinitions"] if c["name"] == "envoy")
    assert [e["name"] for e in envoy["environment"]] == ["APPMESH_VIRTUAL_NODE_NAME"]


def test_bridge_network_mode_is_rejected(guide: dict[str, Any]) -> None:
    td = {**before_mesh(guide["taskDefinitions"]["ec2"]), "networkMode": "bridge", "revision": 4}
    with pytest.raises(IncompatibleTaskDefinition, match=r"^ecsServices\[0\]: task definition taskB:4 uses networkMode 'bridge'"):
        check_envoy_compatibility(td, {}, settings(xray=False))


def test_fargate_without_task_role_is_rejected(guide: dict[str, Any]) -> None:
    td = before_mesh(guide["taskDefinitions"]["fargate"])
    del td["taskRoleArn"]
    with pytest.raises(IncompatibleTaskDefinition, match="Fargate without a task role"):
        check_envoy_compatibility(td, {}, settings(xray=False))


def test_ec2_task_on_a_fargate_service_needs_a_task_role_too(guide: dict[str, Any]) -> None:
    td = before_mesh(guide["taskDefinitions"]["ec2"])
    del td["taskRoleArn"]
    check_envoy_compatibility(td, {"launchType": "EC2"}, settings(xray=False))
    with pytest.raises(IncompatibleTaskDefinition):
        check_envoy_compatibility(td, {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}, settings(xray=False))


def test_unknown_app_container_names_the_field(guide: dict[str, Any]) -> None:
    with pytest.raises(InvalidRolloutInput, match=r"^ecsServices\[0\]\.appContainer: 'web' is not a container of taskB"):
        inject_envoy_sidecar(before_mesh(guide["taskDefinitions"]["ec2"]), settings(xray=False, app_container="web"))


def test_app_without_ports_needs_app_ports(guide: dict[str, Any]) -> None:
    td = before_mesh(guide["taskDefinitions"]["ec2"])
    td["containerDefinitions"][0].pop("portMappings")
    with pytest.raises(InvalidRolloutInput, match=r"^ecsServices\[0\]\.appPorts: no application container maps a TCP port"):
        inject_envoy_sidecar(td, settings(xray=False))
    result = inject_envoy_sidecar(td, settings(xray=False, app_ports=(8080,)))
    assert {"name": "AppPorts", "value": "8080"} in result["proxyConfiguration"]["properties"]


def test_code_deploy_services_are_rejected(guide: dict[str, Any]) -> None:
    td = before_mesh(guide["taskDefinitions"]["ec2"])
    with pytest.raises(IncompatibleTaskDefinition, match=r"^ecsServices\[0\]\.service: uses the CODE_DEPLOY"):
        check_envoy_compatibility(td, {"deploymentController": {"type": "CODE_DEPLOY"}}, settings(xray=False))


def test_same_task_definition_ignores_what_ecs_fills_in(guide: dict[str, Any]) -> None:
    desired = inject_envoy_sidecar(before_mesh(guide["taskDefinitions"]["ec2"]), settings(xray=False))
    described = copy.deepcopy(desired)
    described.update(taskDefinitionArn="arn:aws:ecs:us-west-2:123456789012:task-definition/taskB:2", revision=2, status="ACTIVE")
    for container in described["containerDefinitions"]:
        container.setdefault("cpu", 0)
        container.setdefault("mountPoints", [])
        container.setdefault("volumesFrom", [])
    assert same_task_definition(desired, described)
    described["containerDefinitions"][0]["image"] = "appImage:2"
    assert not same_task_definition(desired, described)


@pytest.mark.parametrize(
    ("region", "image"),
    [
        ("us-west-2", "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.39.1.0-prod"),
        ("me-south-1", "772975370895.dkr.ecr.me-south-1.amazonaws.com/aws-appmesh-envoy:v1.39.1.0-prod"),
        ("cn-north-1", "919366029133.dkr.ecr.cn-north-1.amazonaws.com.cn/aws-appmesh-envoy:v1.39.1.0-prod"),
    ],
)
def test_default_envoy_image_uses_the_regional_registry(region: str, image: str) -> None:
    assert default_envoy_image(region) == image
