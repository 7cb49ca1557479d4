"""Recognising sidecars by image and role; dependency cycles (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.onboarding.sidecars import Role, container_roles, image_role
from mesh_rollout.onboarding.startup_order import find_cycle


@pytest.mark.parametrize(
    ("image", "role"),
    [
        ("840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.39.1.0-prod", Role.ENVOY),
        ("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27.3.0-prod", Role.ENVOY),
        ("envoyproxy/envoy:v1.30-latest", Role.ENVOY),
        ("docker.io/envoyproxy/envoy-distroless:v1.30.1", Role.ENVOY),
        ("localhost:5000/envoyproxy/envoy@sha256:0123abcd", Role.ENVOY),
        ("amazon/aws-xray-daemon", Role.XRAY),
        ("public.ecr.aws/xray/aws-xray-daemon:3.3.7", Role.XRAY),
        ("amazon/cloudwatch-agent:latest", Role.CLOUDWATCH_AGENT),
        ("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", Role.LOG_ROUTER),
        ("public.ecr.aws/aws-observability/aws-otel-collector:v0.35.0", Role.OTEL_COLLECTOR),
        ("123456789012.dkr.ecr.us-west-2.amazonaws.com/envoy-admin-ui:1", None),
        ("example/servicea:1.0", None),
        ("envoyproxy/ratelimit:master", None),
    ],
)
def test_sidecar_images_are_recognised_in_any_registry(image: str, role: Role | None) -> None:
    assert image_role(image) == role


def test_roles_come_from_the_input_the_task_the_image_the_ports_then_the_name() -> None:
    td: dict[str, Any] = {
        "proxyConfiguration": {"type": "APPMESH", "containerName": "mesh-proxy"},
        "containerDefinitions": [
            {"name": "web", "image": "example/web:2", "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]},
            {"name": "mesh-proxy", "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/mirror/proxy:1"},
            {"name": "tracing", "image": "mirror/xray:3", "portMappings": [{"containerPort": 2000, "protocol": "udp"}]},
            {"name": "log_router", "image": "fluent/fluent-bit:3", "firelensConfiguration": {"type": "fluentbit"}},
            {"name": "cloudwatch_agent", "image": "mirror/cw:1"},
            {"name": "xray-daemon", "image": "mirror/tracing:3"},
        ],
    }
    assert container_roles(td) == {
        "web": Role.APP,
        "mesh-proxy": Role.ENVOY,  # the task definition's proxy container
        "tracing": Role.XRAY,  # listens on UDP 2000 only
        "log_router": Role.LOG_ROUTER,  # FireLens
        "cloudwatch_agent": Role.CLOUDWATCH_AGENT,  # by name, the image tells nothing
        "xray-daemon": Role.XRAY,  # by name
    }
    assert container_roles({"containerDefinitions": [{"name": "envoy", "image": "mirror/proxy:1"}]}) == {"envoy": Role.ENVOY}
    # what the input says wins
    roles = container_roles(td, envoy_container="web", app_container="tracing")
    assert (roles["tracing"], roles["web"], roles["mesh-proxy"]) == (Role.APP, Role.ENVOY, Role.ENVOY)


def test_an_application_that_also_maps_udp_2000_is_still_the_application() -> None:
    app = {
        "name": "game",
        "image": "example/game:1",
        "portMappings": [{"containerPort": 2000, "protocol": "udp"}, {"containerPort": 7777, "protocol": "tcp"}],
    }
    assert container_roles({"containerDefinitions": [app]}) == {"game": Role.APP}


def test_find_cycle_names_the_path() -> None:
    assert find_cycle({"app": ["envoy"], "envoy": ["xray"], "xray": []}) is None
    assert find_cycle({"app": ["envoy"], "envoy": ["xray"], "xray": ["envoy"]}) == ["envoy", "xray", "envoy"]
    assert find_cycle({"app": ["app"]}) == ["app", "app"]
