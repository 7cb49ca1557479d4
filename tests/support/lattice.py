"""The Lattice rollout's console input (events/lattice-rollout-apps.json) and the changes to it (an auth policy, a
virtual gateway) that more than one test module makes."""

from __future__ import annotations

import copy
import json
from typing import Any

from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS


def rollout_input(account: OfflineAccount, **lattice: Any) -> dict[str, Any]:
    """The input with the account's identifiers resolved, and `lattice` changing fields of its lattice section."""
    given: dict[str, Any] = json.loads(account.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    given["lattice"].update(lattice)
    return given


# --- authType AWS_IAM ---------------------------------------------------------------------------------------
AUTH_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/serviceA"},
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
        }
    ],
}


def with_auth(raw: dict[str, Any], **auth: Any) -> dict[str, Any]:
    return {**raw, "lattice": {**raw["lattice"], **auth}}


# --- a virtual gateway (ingress) in front of the guide's services -------------------------------------------
NO_REWRITE = {"hostname": {"defaultTargetHostname": "DISABLED"}}


def gateway_route(name: str, kind: str, match: dict[str, Any], target: str, **action: Any) -> dict[str, Any]:
    body = {"match": match, "action": {"target": {"virtualService": {"virtualServiceName": target}}, **action}}
    return {"virtualGatewayName": "ingress", "gatewayRouteName": name, "spec": {kind: body}}


def with_gateway(raw: dict[str, Any], routes: list[dict[str, Any]], **listener: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out["virtualGateways"] = [
        {
            "virtualGatewayName": "ingress",
            "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}, **listener}]},
        }
    ]
    out["gatewayRoutes"] = routes
    out["lattice"]["gateways"] = [{"virtualGatewayName": "ingress", "customDomainName": "ingress.apps.local"}]
    return out
