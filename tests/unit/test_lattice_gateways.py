"""Virtual gateways on the Lattice rollout: the gateway's listeners and routes as a Lattice service at the name the
user gives, what has no Lattice equivalent refused by path, planned without an account (the offline run:
tests/offline/test_lattice_gateways.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.migration.from_cloudformation import input_from_cloudformation
from mesh_rollout.migration.plan import parse_lattice_input
from mesh_rollout.migration.translate import refuse_unaccepted, requests_of, translate
from mesh_rollout_local.lattice_input import load_template
from tests.conftest import ROOT
from tests.support.lattice import NO_REWRITE, gateway_route, with_gateway

CERTIFICATE = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555"


def topology_of(raw: dict[str, Any]) -> dict[str, Any]:
    ours, _, requests = parse_lattice_input(raw)
    return translate(requests, ours.lattice.model_dump(mode="json", exclude_none=True))


def test_a_gateway_becomes_a_lattice_service_whose_rules_forward_to_the_nodes_behind_each_target(
    apps: dict[str, Any],
) -> None:
    routes = [
        gateway_route("to-b", "httpRoute", {"prefix": "/"}, "serviceb.apps.local", rewrite=NO_REWRITE),
        gateway_route(
            "to-a",
            "http2Route",
            {"path": {"exact": "/a"}, "headers": [{"name": "x-team", "match": {"exact": "a"}}]},
            "servicea.apps.local",
            rewrite=NO_REWRITE,
        ),
    ]
    routes[1]["spec"]["priority"] = 5
    topology = topology_of(with_gateway(apps, routes))
    (gateway,) = [s for s in topology["services"] if s.get("virtualGatewayName") == "ingress"]
    assert (gateway["name"], gateway["customDomainName"], gateway["from"]) == (
        "ingress",
        "ingress.apps.local",
        "virtualGateways[0]",
    )
    (listener,) = gateway["listeners"]
    assert (listener["name"], listener["protocol"], listener["port"]) == ("http-8080", "HTTP", 8080)
    rules = {r["name"]: r for r in listener["rules"]}
    # the router's weights behind serviceb.apps.local; the node behind servicea.apps.local
    assert rules["to-b"]["action"] == {
        "forward": {"targetGroups": [{"targetGroup": "serviceb", "weight": 75}, {"targetGroup": "servicebv2", "weight": 25}]}
    }
    assert rules["to-a"]["action"] == {"forward": {"targetGroups": [{"targetGroup": "servicea", "weight": 100}]}}
    assert rules["to-a"]["priority"] == 6 and rules["to-b"]["priority"] == 1001
    assert rules["to-a"]["match"] == {
        "httpMatch": {
            "pathMatch": {"match": {"exact": "/a"}, "caseSensitive": True},
            "headerMatches": [{"name": "x-team", "match": {"exact": "a"}, "caseSensitive": True}],
        }
    }
    assert [loss["path"] for loss in topology["losses"]] == ["mesh.spec.egressFilter"]  # nothing lost on the gateway
    operations = [(r["operation"], r["request"].get("name")) for r in requests_of(topology)]
    assert ("CreateService", "ingress") in operations and ("CreateRule", "to-a") in operations


def test_a_gateway_listener_with_an_acm_certificate_is_https_and_what_lattice_lacks_is_a_loss_by_path(
    apps: dict[str, Any],
) -> None:
    tls = {
        "mode": "STRICT",
        "certificate": {"acm": {"certificateArn": CERTIFICATE}},
        "validation": {"trust": {"file": {"certificateChain": "/certs/ca.pem"}}},
    }
    check = {"protocol": "http", "path": "/ping", "healthyThreshold": 2, "unhealthyThreshold": 2}
    check |= {"intervalMillis": 5000, "timeoutMillis": 2000}
    routes = [
        gateway_route("prefixed", "httpRoute", {"prefix": "/b/"}, "serviceb.apps.local"),
        gateway_route("by-host", "httpRoute", {"prefix": "/", "hostname": {"suffix": ".example.com"}}, "servicea.apps.local"),
        gateway_route("regex", "httpRoute", {"path": {"regex": "/x.*"}}, "servicea.apps.local", rewrite=NO_REWRITE),
    ]
    raw = with_gateway(apps, routes, tls=tls, healthCheck=check)
    raw["virtualGateways"][0]["spec"]["logging"] = {"accessLog": {"file": {"path": "/dev/stdout"}}}
    topology = topology_of(raw)
    (gateway,) = [s for s in topology["services"] if s.get("virtualGatewayName")]
    assert gateway["certificateArn"] == CERTIFICATE
    (listener,) = gateway["listeners"]
    assert (listener["name"], listener["protocol"]) == ("https-8080", "HTTPS")
    # the prefixed route keeps its rule (its rewrite is lost, not its match); host and regex matches leave theirs out
    assert [r["name"] for r in listener["rules"]] == ["prefixed"]
    losses = {loss["path"]: loss["what"] for loss in topology["losses"]}
    assert set(losses) == {
        "mesh.spec.egressFilter",
        "virtualGateways[0].spec.logging",
        "virtualGateways[0].spec.listeners[0].healthCheck",
        "virtualGateways[0].spec.listeners[0].tls.validation",
        "gatewayRoutes[0].spec.httpRoute.action.rewrite.prefix",
        "gatewayRoutes[0].spec.httpRoute.action.rewrite.hostname",
        "gatewayRoutes[1].spec.httpRoute.match.hostname",
        "gatewayRoutes[2].spec.httpRoute.match.path",
    }
    assert "'/b/' to '/'" in losses["gatewayRoutes[0].spec.httpRoute.action.rewrite.prefix"]
    assert losses["gatewayRoutes[1].spec.httpRoute.match.hostname"].endswith("accepting it leaves gatewayRoutes[1] out (no rule)")
    with pytest.raises(InvalidRolloutInput, match="8 part"):
        refuse_unaccepted(topology["losses"], [])
    create = next(r for r in requests_of(topology) if r["operation"] == "CreateService" and r["request"]["name"] == "ingress")
    assert create["request"]["certificateArn"] == CERTIFICATE


def test_a_target_whose_router_routes_by_its_own_matches_and_a_gateway_without_an_entry_point_are_losses(
    apps: dict[str, Any],
) -> None:
    raw = with_gateway(apps, [gateway_route("to-b", "httpRoute", {"prefix": "/"}, "serviceb.apps.local", rewrite=NO_REWRITE)])
    raw["routes"][0]["spec"]["http2Route"]["match"] = {"prefix": "/v2"}  # the router now routes by path itself
    losses = {loss["path"]: loss["what"] for loss in topology_of(raw)["losses"]}
    assert "routes by its router's own matches" in losses["gatewayRoutes[0].spec.httpRoute.action.target"]
    raw = with_gateway(apps, [])
    raw["lattice"]["gateways"] = []
    topology = topology_of(raw)
    assert {loss["path"] for loss in topology["losses"]} == {"mesh.spec.egressFilter", "virtualGateways[0]"}
    assert not [s for s in topology["services"] if s.get("virtualGatewayName")]


def test_gateway_inputs_are_checked_against_the_app_mesh_model_and_each_other(apps: dict[str, Any]) -> None:
    raw = with_gateway(apps, [gateway_route("to-x", "httpRoute", {"prefix": "/"}, "nowhere.apps.local")])
    with pytest.raises(UnknownReference) as unknown:
        parse_lattice_input(raw)
    assert unknown.value.field == "gatewayRoutes[0].spec.httpRoute.action.target.virtualService.virtualServiceName"
    raw = with_gateway(apps, [])
    raw["virtualGateways"][0]["spec"]["listeners"][0]["portMapping"]["protocol"] = "tcp"
    with pytest.raises(InvalidRolloutInput) as malformed:
        parse_lattice_input(raw)
    assert malformed.value.field.startswith("virtualGateways[0].spec.listeners[0].portMapping.protocol")
    raw = with_gateway(apps, [])
    raw["lattice"]["gateways"][0]["virtualGatewayName"] = "other"
    with pytest.raises(UnknownReference) as unknown:
        parse_lattice_input(raw)
    assert unknown.value.field == "lattice.gateways[0].virtualGatewayName"


def test_awss_grpc_ingress_gateway_walkthrough_becomes_a_service_forwarding_the_grpc_service_to_its_node() -> None:
    template = load_template(str(ROOT / "tests" / "data" / "cloudformation" / "howto-grpc-ingress-gateway-mesh.yaml"))
    made = input_from_cloudformation(template, {"ProjectName": "demo"}, lattice={"serviceNetworkName": "demo"})
    made["lattice"] |= {
        "vpcs": ["vpc-0123456789abcdef0"],
        "ecsInfrastructureRoleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForVpcLattice",
        "gateways": [{"virtualGatewayName": "color_gateway", "customDomainName": "gateway.demo.local"}],
    }
    topology = topology_of(made)
    (gateway,) = [s for s in topology["services"] if s.get("virtualGatewayName") == "color_gateway"]
    (listener,) = gateway["listeners"]
    assert (gateway["name"], listener["name"]) == ("color-gateway", "http-8080")
    (rule,) = listener["rules"]
    assert rule["match"] == {"httpMatch": {"pathMatch": {"match": {"prefix": "/color.ColorService/"}, "caseSensitive": True}}}
    assert rule["action"] == {"forward": {"targetGroups": [{"targetGroup": "color-server", "weight": 100}]}}
    # the walkthrough relies on App Mesh's default Host rewrite: named, for the user to accept
    assert "gatewayRoutes[0].spec.grpcRoute.action.rewrite.hostname" in {loss["path"] for loss in topology["losses"]}
