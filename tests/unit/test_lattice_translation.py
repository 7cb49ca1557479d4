"""The App Mesh definition as VPC Lattice (pure): what each App Mesh field becomes, and what has no equivalent."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.offmesh import app_port
from mesh_rollout.migration.translate import lattice_name, refuse_unaccepted, requests_of, translate
from mesh_rollout.onboarding.plan import build_requests
from tests.conftest import ROOT, load_json

LATTICE = {"serviceNetworkName": "apps", "vpcs": ["vpc-0123456789abcdef0"]}


def topology_of(raw: dict[str, Any], lattice: dict[str, Any] = LATTICE) -> dict[str, Any]:
    _, requests = build_requests(raw)
    return translate(requests, lattice)


def _route(spec: dict[str, Any], name: str = "serviceB") -> dict[str, Any]:
    return {"virtualRouterName": "serviceB", "routeName": name, "spec": spec}


def test_the_guides_mesh_becomes_a_service_network_two_services_three_target_groups_and_one_weighted_rule(
    scenario: dict[str, Any],
) -> None:
    topology = topology_of(scenario)
    assert topology["serviceNetwork"] == {"name": "apps", "authType": "NONE", "vpcs": LATTICE["vpcs"], "from": "mesh"}
    groups = {g["virtualNodeName"]: (g["name"], g["config"]) for g in topology["targetGroups"]}
    http2 = {"port": 80, "protocol": "HTTP", "protocolVersion": "HTTP2", "vpcIdentifier": LATTICE["vpcs"][0]}
    assert groups == {"serviceB": ("serviceb", http2), "serviceBv2": ("servicebv2", http2), "serviceA": ("servicea", http2)}
    services = {s["customDomainName"]: s for s in topology["services"]}
    assert set(services) == {"serviceb.apps.local", "servicea.apps.local"}
    (listener,) = services["serviceb.apps.local"]["listeners"]
    assert (listener["protocol"], listener["port"], listener["defaultAction"]) == (
        "HTTP",
        80,
        {"fixedResponse": {"statusCode": 404}},
    )
    (rule,) = listener["rules"]
    assert rule["match"] == {"httpMatch": {"pathMatch": {"match": {"prefix": "/"}, "caseSensitive": True}}}
    assert rule["action"] == {
        "forward": {"targetGroups": [{"targetGroup": "serviceb", "weight": 75}, {"targetGroup": "servicebv2", "weight": 25}]}
    }
    (by_node,) = services["servicea.apps.local"]["listeners"]
    assert by_node["defaultAction"] == {"forward": {"targetGroups": [{"targetGroup": "servicea", "weight": 100}]}}
    # App Mesh's default egress filter is the guide's only loss
    assert [loss["path"] for loss in topology["losses"]] == ["mesh.spec.egressFilter"]


def test_the_plans_requests_follow_the_lattice_api_model_in_the_order_they_must_run(scenario: dict[str, Any]) -> None:
    operations = [r["operation"] for r in requests_of(topology_of(scenario))]
    assert operations[:2] == ["CreateServiceNetwork", "CreateServiceNetworkVpcAssociation"]
    assert operations.count("CreateTargetGroup") == 3 and operations.count("CreateRule") == 1
    assert operations.index("CreateTargetGroup") < operations.index("CreateListener") < operations.index("CreateRule")


def test_route_matches_priorities_and_what_lattice_cannot_match(scenario: dict[str, Any]) -> None:
    to_v2 = {"weightedTargets": [{"virtualNode": "serviceBv2", "weight": 1}]}
    retries = {"maxRetries": 2, "perRetryTimeout": {"unit": "ms", "value": 500}, "httpRetryEvents": ["server-error"]}
    cart = {"path": {"exact": "/cart"}, "method": "POST", "headers": [{"name": "x-canary", "match": {"exact": "1"}}]}
    scenario["routes"] = [
        _route({"priority": 5, "httpRoute": {"match": cart, "action": to_v2, "retryPolicy": retries}}, "cart"),
        _route(
            {"httpRoute": {"match": {"prefix": "/", "headers": [{"name": "x-user", "match": {"regex": "^a"}}]}, "action": to_v2}},
            "users",
        ),
        _route({"httpRoute": {"match": {"path": {"regex": "/v[0-9]+/.*"}}, "action": to_v2}}, "versions"),
        _route(
            {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": [{"virtualNode": "serviceB", "weight": 1}]}}}
        ),
    ]
    topology = topology_of(scenario)
    (listener,) = next(s for s in topology["services"] if s["customDomainName"] == "serviceb.apps.local")["listeners"]
    cart_rule, rest = listener["rules"]
    assert cart_rule["priority"] == 6  # App Mesh 0-1000, Lattice from 1
    assert cart_rule["match"]["httpMatch"] == {
        "pathMatch": {"match": {"exact": "/cart"}, "caseSensitive": True},
        "method": "POST",
        "headerMatches": [{"name": "x-canary", "match": {"exact": "1"}, "caseSensitive": True}],
    }
    assert (rest["name"], rest["priority"]) == ("serviceb", 1002)  # after every explicit priority, in order
    # a route whose match loses a condition would match more without it: it gets no rule at all
    assert {loss["path"]: loss["what"] for loss in topology["losses"][1:]} == {
        "routes[0].spec.httpRoute.retryPolicy": "Lattice listener rules have no retry policy",
        "routes[1].spec.httpRoute.match.headers[0]": "Lattice header matches are exact or prefix, not regex;"
        " accepting it leaves routes[1] out (no rule)",
        "routes[2].spec.httpRoute.match.path": "Lattice path matches are exact or prefix, not regex; accepting it leaves"
        " routes[2] out (no rule)",
    }


def test_routes_go_on_the_listener_whose_port_they_match(scenario: dict[str, Any]) -> None:
    router = scenario["virtualRouters"][0]["spec"]
    router["listeners"].append({"portMapping": {"port": 8080, "protocol": "http"}})
    targets = {"weightedTargets": [{"virtualNode": "serviceB", "weight": 1}]}
    scenario["routes"] = [
        _route({"httpRoute": {"match": {"prefix": "/", "port": 80}, "action": targets}}, "on-80"),
        _route({"httpRoute": {"match": {"prefix": "/admin", "port": 8080}, "action": targets}}, "on-8080"),
        _route({"httpRoute": {"match": {"prefix": "/health"}, "action": targets}}, "anywhere"),
    ]
    topology = topology_of(scenario)
    listeners = next(s for s in topology["services"] if s["customDomainName"] == "serviceb.apps.local")["listeners"]
    assert {x["name"]: [r["name"] for r in x["rules"]] for x in listeners} == {
        "http-80": ["on-80", "anywhere"],
        "http-8080": ["on-8080", "anywhere"],
    }
    assert [loss["path"] for loss in topology["losses"]] == ["mesh.spec.egressFilter"]


def test_an_accepted_path_that_is_no_loss_is_refused() -> None:
    with pytest.raises(InvalidRolloutInput, match=r"^lattice\.acceptLosses\[1\]: 'mesh\.spec\.egresFilter' is not a loss"):
        refuse_unaccepted([{"path": "mesh.spec.egressFilter", "what": "x"}], ["mesh.spec.egressFilter", "mesh.spec.egresFilter"])


def test_grpc_routes_match_on_the_grpc_path_and_tcp_routes_are_a_loss(scenario: dict[str, Any]) -> None:
    targets = {"weightedTargets": [{"virtualNode": "serviceB", "weight": 1}]}
    scenario["routes"] = [
        _route(
            {"grpcRoute": {"match": {"serviceName": "color.ColorService", "methodName": "GetColor"}, "action": targets}}, "get"
        ),
        _route({"grpcRoute": {"match": {"serviceName": "color.ColorService"}, "action": targets}}, "any"),
        _route({"tcpRoute": {"action": targets}}, "raw"),
    ]
    topology = topology_of(scenario)
    (listener,) = next(s for s in topology["services"] if s["customDomainName"] == "serviceb.apps.local")["listeners"]
    assert [r["match"]["httpMatch"]["pathMatch"]["match"] for r in listener["rules"]] == [
        {"exact": "/color.ColorService/GetColor"},
        {"prefix": "/color.ColorService/"},
    ]
    assert "routes[2].spec.tcpRoute" in [loss["path"] for loss in topology["losses"]]


def test_node_features_without_a_lattice_equivalent_are_listed_with_their_paths(scenario: dict[str, Any]) -> None:
    node = scenario["virtualNodes"][0]["spec"]
    node["listeners"][0]["outlierDetection"] = {
        "maxServerErrors": 5,
        "interval": {"unit": "s", "value": 10},
        "baseEjectionDuration": {"unit": "s", "value": 30},
        "maxEjectionPercent": 50,
    }
    node["listeners"][0]["healthCheck"] = {
        "protocol": "http2",
        "path": "/ping",
        "intervalMillis": 5000,
        "timeoutMillis": 2000,
        "healthyThreshold": 2,
        "unhealthyThreshold": 3,
    }
    node["backendDefaults"] = {"clientPolicy": {"tls": {"validation": {"trust": {"file": {"certificateChain": "/ca.pem"}}}}}}
    scenario["mesh"]["spec"] = {"egressFilter": {"type": "ALLOW_ALL"}}
    topology = topology_of(scenario)
    assert [loss["path"] for loss in topology["losses"]] == [
        "virtualNodes[0].spec.backendDefaults",
        "virtualNodes[0].spec.listeners[0].outlierDetection",
    ]
    serviceb = next(g for g in topology["targetGroups"] if g["name"] == "serviceb")
    assert serviceb["config"]["healthCheck"] == {
        "enabled": True,
        "protocol": "HTTP",
        "protocolVersion": "HTTP2",
        "path": "/ping",
        "healthCheckIntervalSeconds": 5,
        "healthCheckTimeoutSeconds": 2,
        "healthyThresholdCount": 2,
        "unhealthyThresholdCount": 3,
    }


def test_awss_own_walkthrough_nodes_translate_or_name_what_they_lose() -> None:
    nodes = list(load_json(ROOT / "tests" / "data" / "appmesh-walkthrough-nodes.json").values())
    nodes = [n for i, n in enumerate(nodes) if n["virtualNodeName"] not in [m["virtualNodeName"] for m in nodes[:i]]]
    raw = {"mesh": {"meshName": "walk", "spec": {"egressFilter": {"type": "ALLOW_ALL"}}}, "virtualNodes": nodes}
    topology = topology_of(raw)
    assert {g["name"]: g["config"]["protocolVersion"] for g in topology["targetGroups"]} == {
        "color-client": "HTTP1",
        "color-server": "GRPC",
    }
    assert [loss["path"] for loss in topology["losses"]] == ["virtualNodes[1].spec.listeners[0].healthCheck.protocol"]


def test_losses_are_refused_all_at_once_until_each_path_is_accepted() -> None:
    losses = [{"path": "mesh.spec.egressFilter", "what": "x"}, {"path": "routes[0].spec.httpRoute.retryPolicy", "what": "y"}]
    with pytest.raises(InvalidRolloutInput) as caught:
        refuse_unaccepted(losses, ["mesh.spec.egressFilter"])
    assert str(caught.value).startswith("lattice.acceptLosses: 1 part(s) of the mesh have no VPC Lattice equivalent:")
    assert "routes[0].spec.httpRoute.retryPolicy (y)" in str(caught.value)
    refuse_unaccepted(losses, [loss["path"] for loss in losses])


def test_names_that_collide_on_lattice_are_refused(scenario: dict[str, Any]) -> None:
    twin = copy.deepcopy(scenario["virtualNodes"][0])
    twin["virtualNodeName"] = "SERVICEB"
    scenario["virtualNodes"].append(twin)
    with pytest.raises(InvalidRolloutInput, match="both become the Lattice name 'serviceb'"):
        topology_of(scenario)
    assert lattice_name("serviceb.apps.local", 40, "x") == "serviceb-apps-local"
    with pytest.raises(InvalidRolloutInput, match=r"^x: 'a' makes the Lattice name 'a'"):
        lattice_name("a", 40, "x")


def test_a_rerun_finds_the_port_from_the_services_lattice_port_name_once_app_ports_are_gone() -> None:
    """After the first run the mesh (and its AppPorts) is gone; an application with several ports still converges."""
    from mesh_rollout.migration.plan import attached_port

    task = {
        "containerDefinitions": [
            {"name": "app", "portMappings": [{"containerPort": 9901}, {"containerPort": 8080, "name": "web"}]}
        ]
    }
    service = {"deployments": [{"status": "PRIMARY", "vpcLatticeConfigurations": [{"portName": "web"}]}]}
    assert app_port(task) is None  # two ports, no AppPorts: ambiguous on its own
    assert attached_port(service, task) == 8080
    assert attached_port({"deployments": [{}]}, task) is None
