"""The task-definition rewrite against the AWS guide's four example task definitions."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from mesh_rollout.aws.ecs import same_task_definition
from mesh_rollout.errors import IncompatibleTaskDefinition, InvalidRolloutInput
from mesh_rollout.onboarding.envoy import SidecarSettings, check_envoy_compatibility, default_envoy_image, inject_envoy_sidecar
from tests.support import as_registered
from tests.support.ecs import containers_by_name

GUIDE_IMAGE = "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.12.1.0-prod"


def before_mesh(example: dict[str, Any]) -> dict[str, Any]:
    """The guide's task definition as it was before App Mesh: no sidecars, no proxy, no dependsOn."""
    td = copy.deepcopy(example)
    td.pop("proxyConfiguration")
    td["containerDefinitions"] = [c for c in td["containerDefinitions"] if c["name"] not in ("envoy", "xray-daemon")]
    for container in td["containerDefinitions"]:
        container.pop("dependsOn")
    return td


def settings(xray: bool | None, **overrides: Any) -> SidecarSettings:
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


# A Fargate service as teams run it before the mesh: the app traced through an X-Ray daemon it names `xray`
# and a CloudWatch agent for EMF metrics (images and settings as in AWS's X-Ray and CloudWatch agent docs).
ORDERS: dict[str, Any] = {
    "family": "orders",
    "revision": 7,
    "taskRoleArn": "arn:aws:iam::123456789012:role/ordersTaskRole",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "1 vCPU",
    "memory": "2 GB",
    "containerDefinitions": [
        {
            "name": "orders-api",
            "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders-api:1.4.2",
            "essential": True,
            "cpu": 256,
            "memory": 512,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "AWS_XRAY_DAEMON_ADDRESS", "value": "127.0.0.1:2000"}],
        },
        {
            "name": "xray",
            "image": "amazon/aws-xray-daemon:3.x",
            "essential": True,
            "cpu": 32,
            "memoryReservation": 256,
            "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
        },
        {
            "name": "cloudwatch-agent",
            "image": "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest",
            "essential": True,
            "cpu": 32,
            "memory": 256,
            "secrets": [{"name": "CW_CONFIG_CONTENT", "valueFrom": "arn:aws:ssm:us-west-2:123456789012:parameter/ecs-cwagent"}],
        },
    ],
}
HAND_MADE_ENVOY = {
    "name": "envoy",
    "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27.3.0-prod",
    "essential": True,
    "user": "1337",
    "memory": 512,
    "environment": [
        {"name": "APPMESH_RESOURCE_ARN", "value": "arn:aws:appmesh:us-west-2:123456789012:mesh/apps/virtualNode/orders"},
        {"name": "ENABLE_ENVOY_XRAY_TRACING", "value": "1"},
        {"name": "ENVOY_LOG_LEVEL", "value": "warn"},
    ],
    "healthCheck": {
        "command": ["CMD-SHELL", "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE"],
        "startPeriod": 30,
        "interval": 10,
        "timeout": 5,
        "retries": 3,
    },
    "dependsOn": [{"containerName": "xray", "condition": "START"}],
}


def orders(with_envoy: bool = False) -> dict[str, Any]:
    td = copy.deepcopy(ORDERS)
    if with_envoy:
        td["containerDefinitions"][0]["dependsOn"] = [{"containerName": "envoy", "condition": "HEALTHY"}]
        td["containerDefinitions"].append(copy.deepcopy(HAND_MADE_ENVOY))
    return td


def envoy_env(request: dict[str, Any], name: str = "envoy") -> dict[str, str]:
    return {e["name"]: e["value"] for e in containers_by_name(request)[name]["environment"]}


def orders_settings(xray: bool | None = None, **overrides: Any) -> SidecarSettings:
    return SidecarSettings(mesh_name="apps", virtual_node_name="orders", envoy_image=GUIDE_IMAGE, xray=xray, **overrides)


def test_only_the_application_container_waits_for_envoy() -> None:
    # Given the app, its X-Ray daemon `xray` and a CloudWatch agent
    result = inject_envoy_sidecar(orders(), orders_settings())
    containers = containers_by_name(result)
    # Then the sidecars are recognised by image: only the app waits for Envoy, and only its port is an AppPort
    assert containers["orders-api"]["dependsOn"] == [{"containerName": "envoy", "condition": "HEALTHY"}]
    assert containers["xray"] == ORDERS["containerDefinitions"][1]
    assert containers["cloudwatch-agent"] == ORDERS["containerDefinitions"][2]
    assert {"name": "AppPorts", "value": "8080"} in result["proxyConfiguration"]["properties"]


def test_xray_true_reuses_the_daemon_the_task_already_has() -> None:
    result = inject_envoy_sidecar(orders(), orders_settings(xray=True))
    containers = containers_by_name(result)
    assert list(containers) == ["orders-api", "xray", "cloudwatch-agent", "envoy"]
    udp_2000 = [n for n, c in containers.items() if {"containerPort": 2000, "protocol": "udp"} in c.get("portMappings", [])]
    assert udp_2000 == ["xray"]
    # its image and size stay; it runs as IgnoredUID so its calls to X-Ray bypass Envoy, like the guide's daemon
    assert containers["xray"] == {**ORDERS["containerDefinitions"][1], "user": "1337"}
    assert envoy_env(result)["ENABLE_ENVOY_XRAY_TRACING"] == "1"


def test_a_hand_made_envoy_waiting_for_the_daemon_makes_no_cycle() -> None:
    td = orders(with_envoy=True)
    result = inject_envoy_sidecar(td, orders_settings())
    containers = containers_by_name(result)
    assert containers["envoy"]["dependsOn"] == [{"containerName": "xray", "condition": "START"}]
    assert "dependsOn" not in containers["xray"]
    assert containers["orders-api"]["dependsOn"] == [{"containerName": "envoy", "condition": "HEALTHY"}]
    # the rest of the hand-made Envoy stays: its health check, memory and environment
    assert containers["envoy"]["healthCheck"] == HAND_MADE_ENVOY["healthCheck"]
    assert containers["envoy"]["memory"] == 512
    assert inject_envoy_sidecar(result, orders_settings()) == result


def test_absent_xray_keeps_the_tracing_the_task_definition_has() -> None:
    result = inject_envoy_sidecar(orders(with_envoy=True), orders_settings(xray=None))
    assert envoy_env(result) == {
        "APPMESH_RESOURCE_ARN": "arn:aws:appmesh:us-west-2:123456789012:mesh/apps/virtualNode/orders",
        "ENABLE_ENVOY_XRAY_TRACING": "1",
        "ENVOY_LOG_LEVEL": "warn",
        "APPMESH_VIRTUAL_NODE_NAME": "mesh/apps/virtualNode/orders",
    }


def test_xray_false_turns_envoy_tracing_off_and_keeps_the_daemon() -> None:
    result = inject_envoy_sidecar(orders(with_envoy=True), orders_settings(xray=False))
    assert "ENABLE_ENVOY_XRAY_TRACING" not in envoy_env(result)
    # the application still sends its own segments to the daemon
    assert containers_by_name(result)["xray"] == ORDERS["containerDefinitions"][1]


def test_a_hand_made_envoy_under_another_name_is_the_proxy_container() -> None:
    td = orders(with_envoy=True)
    td["containerDefinitions"][-1]["name"] = "appmesh-envoy"
    td["containerDefinitions"][0]["dependsOn"] = []
    result = inject_envoy_sidecar(td, orders_settings())
    assert list(containers_by_name(result)) == ["orders-api", "xray", "cloudwatch-agent", "appmesh-envoy"]
    assert result["proxyConfiguration"]["containerName"] == "appmesh-envoy"
    assert containers_by_name(result)["orders-api"]["dependsOn"] == [{"containerName": "appmesh-envoy", "condition": "HEALTHY"}]


def test_envoy_stops_waiting_for_the_application_and_a_users_own_cycle_is_refused() -> None:
    td = orders(with_envoy=True)
    td["containerDefinitions"][-1]["dependsOn"].append({"containerName": "orders-api", "condition": "START"})
    assert containers_by_name(inject_envoy_sidecar(td, orders_settings()))["envoy"]["dependsOn"] == [
        {"containerName": "xray", "condition": "START"}
    ]
    td["containerDefinitions"][1]["dependsOn"] = [{"containerName": "cloudwatch-agent", "condition": "START"}]
    td["containerDefinitions"][2]["dependsOn"] = [{"containerName": "xray", "condition": "START"}]
    with pytest.raises(
        IncompatibleTaskDefinition,
        match=r"^ecsServices\[0\]: task definition orders:7 has a dependsOn cycle xray -> cloudwatch-agent -> xray",
    ):
        inject_envoy_sidecar(td, orders_settings())


def test_a_fargate_task_without_room_for_the_sidecars_is_refused(guide: dict[str, Any]) -> None:
    # Given the guide's Fargate taskB (1024 MiB, 0.5 vCPU) whose app holds 512 MiB and 512 CPU units
    td = {**before_mesh(guide["taskDefinitions"]["fargate"]), "revision": 1}
    td["containerDefinitions"][0].update(memory=512, cpu=512)
    # Then Envoy's 500 MiB fit, but not the X-Ray daemon's 256 MiB and 32 CPU units as well
    inject_envoy_sidecar(td, settings(xray=False))
    with pytest.raises(IncompatibleTaskDefinition) as refused:
        inject_envoy_sidecar(td, settings(xray=True))
    assert str(refused.value) == (
        "ecsServices[0]: task definition taskB:1 on Fargate has 1024 MiB; its containers would need 1268 MiB "
        "(appName 512, envoy 500, xray-daemon 256 reserved); it has 512 CPU units; its containers would need "
        "544 CPU units (appName 512, xray-daemon 32)"
    )


def test_a_fargate_task_whose_cpu_is_taken_is_refused() -> None:
    td = orders()
    td.update(cpu="256", memory="2GB")
    td["containerDefinitions"][0]["cpu"] = 192
    inject_envoy_sidecar(td, orders_settings())
    td["containerDefinitions"][0]["cpu"] = 224
    with pytest.raises(
        IncompatibleTaskDefinition,
        match=r"^ecsServices\[0\]: task definition orders:7 on Fargate has 256 CPU units; its containers would need "
        r"288 CPU units \(orders-api 224, xray 32, cloudwatch-agent 32\)$",
    ):
        inject_envoy_sidecar(td, orders_settings())


def a_second_envoy() -> tuple[dict[str, Any], dict[str, Any]]:
    return orders(with_envoy=True), {"envoy_container": "proxy"}


def an_upstream_envoy_with_its_own_bootstrap() -> tuple[dict[str, Any], dict[str, Any]]:
    td = orders(with_envoy=True)
    td["containerDefinitions"][-1].update(image="envoyproxy/envoy:v1.30-latest", command=["-c", "/etc/envoy/orders.yaml"])
    return td, {}


def an_app_on_the_daemons_port() -> tuple[dict[str, Any], dict[str, Any]]:
    td = orders()
    del td["containerDefinitions"][1]
    td["containerDefinitions"][0]["portMappings"].append({"containerPort": 2000, "protocol": "udp"})
    return td, {"xray": True}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (a_second_envoy, "orders:7 already has Envoy container(s) ['envoy']; the proxy container would be 'proxy'"),
        (an_upstream_envoy_with_its_own_bootstrap, "container 'envoy' runs envoyproxy/envoy:v1.30-latest with its own command"),
        (an_app_on_the_daemons_port, "xray is true, but container 'orders-api', which is not an X-Ray daemon, maps UDP 2000"),
    ],
    ids=["a second Envoy", "an upstream Envoy with its own bootstrap", "an app on the daemon's port"],
)
def test_what_cannot_share_a_task_with_the_mesh_envoy_is_refused(
    case: Callable[[], tuple[dict[str, Any], dict[str, Any]]], message: str
) -> None:
    td, options = case()
    with pytest.raises(IncompatibleTaskDefinition, match=re.escape(message)):
        inject_envoy_sidecar(td, orders_settings(**options))
