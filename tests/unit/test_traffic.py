"""The VPC Lattice and ALB traffic backends' plain functions, on plain data and a stand-in client (no emulated
account): what a listener can forward to, what a rule write must keep. End to end: tests/offline/test_traffic_backends.py."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.traffic.alb import AlbRoute
from mesh_rollout.traffic.lattice import check_compatible


def test_a_canary_the_listener_cannot_forward_to_is_refused_naming_it() -> None:
    """Lattice: a TCP target group behind an HTTP listener (AWS itself refuses an ALB forward to one)."""
    route = {"listener": {"protocol": "HTTP"}}
    stable = {"name": "serviceb", "config": {"vpcIdentifier": "vpc-1", "protocol": "HTTP"}}
    with pytest.raises(InvalidRolloutInput, match=r"^canary: target group 'tcp' speaks TCP; the HTTP listener cannot"):
        check_compatible(route, stable, {"name": "tcp", "config": {"vpcIdentifier": "vpc-1", "protocol": "TCP"}})
    check_compatible(route, stable, {"name": "https", "config": {"vpcIdentifier": "vpc-1", "protocol": "HTTPS"}})


def test_an_alb_rule_with_oidc_authentication_keeps_its_client_secret_on_every_write() -> None:
    """Describe* never returns an OIDC action's ClientSecret; a modify that omits it must say to keep it."""
    oidc = {
        "Issuer": "https://idp.example.com",
        "AuthorizationEndpoint": "https://idp.example.com/auth",
        "TokenEndpoint": "https://idp.example.com/token",
        "UserInfoEndpoint": "https://idp.example.com/userinfo",
        "ClientId": "client",
    }
    tg = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/{}/0123456789abcdef"
    actions = [
        {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": oidc},
        {
            "Type": "forward",
            "Order": 2,
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": tg.format("a"), "Weight": 75},
                    {"TargetGroupArn": tg.format("b"), "Weight": 25},
                ]
            },
        },
    ]
    sent: list[list[dict[str, Any]]] = []

    class Elbv2:
        def describe_rules(self, RuleArns: list[str]) -> dict[str, Any]:
            return {"Rules": [{"Actions": actions}]}

        def modify_rule(self, RuleArn: str, Actions: list[dict[str, Any]]) -> dict[str, Any]:
            sent.append(Actions)
            return {"Rules": [{"Actions": Actions}]}

    reference = {"listenerArn": "l", "ruleArn": "r", "label": "x", "targets": {"a": tg.format("a"), "b": tg.format("b")}}
    route = AlbRoute(reference, Elbv2())
    assert route.write({"a": 50, "b": 50}).weights == {"a": 50, "b": 50}
    (written,) = sent
    assert written[0] == {
        "Type": "authenticate-oidc",
        "Order": 1,
        "AuthenticateOidcConfig": {**oidc, "UseExistingClientSecret": True},
    }
    assert written[1]["Order"] == 2
