"""`mesh-rollout lattice-input`: a CloudFormation template's App Mesh resources as the Lattice rollout's input, on
AWS's own example templates (tests/data/cloudformation): the translation and the command's output and mistakes (that
input converging on an emulated account: tests/offline/test_lattice_from_cloudformation.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.from_cloudformation import input_from_cloudformation
from mesh_rollout_local.cli import main
from mesh_rollout_local.lattice_input import load_template
from tests.conftest import ROOT, load_json

DATA = ROOT / "tests" / "data" / "cloudformation"
HTTP2 = DATA / "howto-http2-mesh.yaml"
BASICS = DATA / "howto-ecs-basics-3-routing.yaml"
# what the walkthrough's stack would name (its ECS services' names are CloudFormation's; the load balancer's DNS name)
BASICS_OVERRIDES = [
    "ProjectName=apps",
    "PublicLoadBalancer.DNSName=front.apps.example.com",
    "ColorECSService.Name=color",
    "ColorV2ECSService.Name=color-v2",
    "FrontECSService.Name=front",
]


def overrides(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_http2_walkthroughs_mesh_template_gives_the_api_requests() -> None:
    made = input_from_cloudformation(load_template(str(HTTP2)), {"ProjectName": "demo"})

    assert made["mesh"] == {"meshName": "demo-mesh"}  # !Sub '${ProjectName}-mesh'
    nodes = {n["virtualNodeName"]: n for n in made["virtualNodes"]}
    assert list(nodes) == ["color_client", "color_server-blue", "color_server-green", "color_server-red"]
    assert {n["meshName"] for n in made["virtualNodes"]} == {"demo-mesh"}  # !GetAtt Mesh.MeshName
    assert nodes["color_server-red"]["spec"] == {
        "listeners": [
            {
                "portMapping": {"port": 8080, "protocol": "http2"},
                "healthCheck": {
                    "healthyThreshold": 2,
                    "intervalMillis": 5000,
                    "timeoutMillis": 2000,
                    "unhealthyThreshold": 3,
                    "port": 8080,
                    "path": "/ping",
                    "protocol": "http2",
                },
            }
        ],
        "serviceDiscovery": {  # AWSCloudMap -> awsCloudMap, Attributes[].Key -> attributes[].key
            "awsCloudMap": {
                "namespaceName": "demo.local",
                "serviceName": "color_server",
                "attributes": [{"key": "ECS_TASK_DEFINITION_FAMILY", "value": "red"}],
            }
        },
    }
    assert nodes["color_client"]["spec"]["backends"] == [{"virtualService": {"virtualServiceName": "color_server.demo.local"}}]
    assert made["virtualRouters"] == [
        {
            "meshName": "demo-mesh",
            "virtualRouterName": "virtual-router",
            "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http2"}}]},
        }
    ]
    assert made["routes"] == [
        {
            "meshName": "demo-mesh",
            "virtualRouterName": "virtual-router",
            "routeName": "route",
            "spec": {
                "http2Route": {
                    "action": {"weightedTargets": [{"virtualNode": "color_server-red", "weight": 1}]},
                    "match": {"prefix": "/"},
                }
            },
        }
    ]
    assert made["virtualServices"] == [
        {
            "meshName": "demo-mesh",
            "virtualServiceName": "color_server.demo.local",
            "spec": {"provider": {"virtualRouter": {"virtualRouterName": "virtual-router"}}},
        }
    ]
    assert made["ecsServices"] == []  # the walkthrough's services are in another template: --ecs-services gives them


def test_the_ecs_walkthroughs_services_are_found_by_their_envoys_virtual_node() -> None:
    made = input_from_cloudformation(load_template(str(BASICS)), overrides(BASICS_OVERRIDES))

    assert made["ecsServices"] == [  # cluster: !Ref ECSCluster, whose ClusterName is !Ref ProjectName
        {"cluster": "apps", "service": "color", "virtualNodeName": "apps-color-node"},
        {"cluster": "apps", "service": "color-v2", "virtualNodeName": "apps-color-v2-node"},
        {"cluster": "apps", "service": "front", "virtualNodeName": "apps-front-node"},
    ]
    # Fn::Join of GetAtt ColorServiceRegistry.Name (its Name property) and a Sub
    assert [s["virtualServiceName"] for s in made["virtualServices"]] == ["color.apps.mesh.local"]
    (route,) = made["routes"]
    assert route["spec"]["httpRoute"]["action"]["weightedTargets"] == [
        {"virtualNode": "apps-color-node", "weight": 50},
        {"virtualNode": "apps-color-v2-node", "weight": 50},
    ]
    front = next(n for n in made["virtualNodes"] if n["virtualNodeName"] == "apps-front-node")
    assert front["spec"]["listeners"][0]["portMapping"]["port"] == 8080  # !Sub '${ContainerPort}' is a string
    assert front["spec"]["serviceDiscovery"] == {"dns": {"hostname": "front.apps.example.com"}}


def test_every_value_only_the_stack_knows_is_refused_at_once_with_its_override() -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        input_from_cloudformation(load_template(str(BASICS)), {"ProjectName": "apps"})

    assert [field for field, _ in caught.value.problems] == [
        "Resources.FrontVirtualNode.Properties.Spec.ServiceDiscovery.DNS.Hostname.Fn::GetAtt",
        "Resources.ColorECSService.Properties.ServiceName",
        "Resources.ColorV2ECSService.Properties.ServiceName",
        "Resources.FrontECSService.Properties.ServiceName",
    ]
    assert "pass PublicLoadBalancer.DNSName=VALUE in --parameter-overrides" in str(caught.value)


MESH_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Port": {"Type": "Number", "Default": "9080"},
        "Env": {"Type": "String", "AllowedValues": ["dev", "prod"]},
    },
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
    "Resources": {
        "Mesh": {
            "Type": "AWS::AppMesh::Mesh",
            "Properties": {"MeshName": {"Fn::Sub": "${Env}-mesh"}, "Spec": {"EgressFilter": {"Type": "ALLOW_ALL"}}},
        },
        "Node": {
            "Type": "AWS::AppMesh::VirtualNode",
            "Properties": {
                "MeshName": {"Fn::GetAtt": ["Mesh", "MeshName"]},
                "VirtualNodeName": "node",
                "Spec": {
                    "Listeners": [{"PortMapping": {"Port": {"Ref": "Port"}, "Protocol": "http"}}],
                    "Logging": {"Fn::If": ["IsProd", {"AccessLog": {"File": {"Path": "/dev/stdout"}}}, {"Ref": "AWS::NoValue"}]},
                },
                "Tags": [{"Key": "node-arn-of-mesh", "Value": {"Ref": "Mesh"}}],
            },
        },
        "Service": {
            "Type": "AWS::AppMesh::VirtualService",
            "Properties": {
                "MeshName": {"Fn::GetAtt": ["Mesh", "MeshName"]},
                "VirtualServiceName": "node.local",
                "Spec": {"Provider": {"VirtualNode": {"VirtualNodeName": {"Fn::GetAtt": ["Node", "VirtualNodeName"]}}}},
                "Tags": [{"Key": "provider", "Value": {"Fn::Sub": "${Node}"}}],
            },
        },
        "ProdOnly": {
            "Type": "AWS::AppMesh::VirtualNode",
            "Condition": "IsProd",
            "Properties": {"MeshName": "other-mesh", "VirtualNodeName": "extra", "Spec": {}},
        },
    },
}
PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333"}


def test_refs_parameters_pseudo_parameters_and_conditions_resolve_as_the_stack_would() -> None:
    made = input_from_cloudformation(MESH_TEMPLATE, {"Env": "dev", **PSEUDO}, lattice={"serviceNetworkName": "dev"})

    assert made["mesh"] == {"meshName": "dev-mesh", "spec": {"egressFilter": {"type": "ALLOW_ALL"}}}
    (node,) = made["virtualNodes"]  # ProdOnly's condition does not hold
    assert node["spec"] == {"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]}  # NoValue: no logging
    assert node["tags"] == [{"key": "node-arn-of-mesh", "value": "arn:aws:appmesh:eu-west-1:111122223333:mesh/dev-mesh"}]
    (service,) = made["virtualServices"]
    assert service["spec"] == {"provider": {"virtualNode": {"virtualNodeName": "node"}}}
    assert service["tags"] == [
        {"key": "provider", "value": "arn:aws:appmesh:eu-west-1:111122223333:mesh/dev-mesh/virtualNode/node"}
    ]
    assert made["lattice"] == {"serviceNetworkName": "dev"}


@pytest.mark.parametrize(
    ("given", "field", "says"),
    [
        ({}, "Conditions.IsProd.Fn::Equals[0].Ref", "pass Env=VALUE in --parameter-overrides"),
        ({"Env": "test"}, "Parameters.Env", "not one of its AllowedValues"),
        ({"Env": "dev", "Prot": "80"}, "--parameter-overrides Prot", "no parameter or resource of that name"),
        ({"Env": "dev", "AWS::Region": "eu-west-1"}, "Resources.Node.Properties.Tags[0].Value.Ref", "AWS::AccountId=VALUE"),
        ({"Env": "prod", **PSEUDO}, "Resources", "more than one mesh"),
    ],
)
def test_what_cannot_be_resolved_is_refused_by_its_path(given: dict[str, str], field: str, says: str) -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        input_from_cloudformation(MESH_TEMPLATE, given)

    assert caught.value.field == field
    assert says in str(caught.value)


def test_a_property_the_app_mesh_api_does_not_have_is_refused_by_its_path() -> None:
    template = json.loads(json.dumps(MESH_TEMPLATE))
    template["Resources"]["Node"]["Properties"]["Spec"]["Listeners"][0]["PortMaping"] = {"Port": 80}

    with pytest.raises(InvalidRolloutInput) as caught:
        input_from_cloudformation(template, {"Env": "dev", **PSEUDO})

    assert caught.value.field == "Resources.Node.Properties.Spec.Listeners[0].PortMaping"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lattice-input", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_writes_the_input_the_given_world_was_meshed_with(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "--template", str(BASICS), "--parameter-overrides", *BASICS_OVERRIDES)

    assert (code, err) == (0, "")
    assert json.loads(out) == load_json(DATA / "howto-ecs-basics-mesh-input.json")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--parameter-overrides", "ProjectName=apps"], "pass PublicLoadBalancer.DNSName=VALUE"),
        (["--parameter-overrides", "ProjectName"], "'ProjectName': not KEY=VALUE"),
        (["--parameter-overrides", *BASICS_OVERRIDES, "--lattice", "missing.json"], "--lattice missing.json: no such file"),
        (["--parameter-overrides", *BASICS_OVERRIDES, "--output", "/nonexistent/input.json"], "cannot be written"),
    ],
)
def test_a_mistake_is_one_line_on_stderr_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    code, out, err = run_cli(capsys, "--template", str(BASICS), *argv)

    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("mesh-rollout: ") and says in err


def test_the_ingress_gateway_walkthroughs_gateway_and_its_route_go_in_the_lattice_input() -> None:
    template = load_template(str(DATA / "howto-grpc-ingress-gateway-mesh.yaml"))

    made = input_from_cloudformation(template, {"ProjectName": "demo"}, lattice={"serviceNetworkName": "demo"})

    assert made["virtualGateways"] == [
        {
            "meshName": "demo-mesh",
            "virtualGatewayName": "color_gateway",
            "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "grpc"}}]},
        }
    ]
    assert made["gatewayRoutes"] == [
        {
            "meshName": "demo-mesh",
            "virtualGatewayName": "color_gateway",
            "gatewayRouteName": "gateway_route",
            "spec": {
                "grpcRoute": {
                    "action": {"target": {"virtualService": {"virtualServiceName": "color_server.demo.local"}}},
                    "match": {"serviceName": "color.ColorService"},
                }
            },
        }
    ]
    with pytest.raises(InvalidRolloutInput) as caught:  # the mesh rollout's input has no gateways
        input_from_cloudformation(template, {"ProjectName": "demo"})
    assert caught.value.field == "Resources.VirtualGateway"


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"MeshName": {"Fn::Join": ["-"]}}, "Resources.Mesh.Properties.MeshName.Fn::Join", "malformed Fn::Join"),
        ({"MeshName": {"Fn::GetAtt": ["Node"]}}, "Resources.Mesh.Properties.MeshName.Fn::GetAtt", "malformed Fn::GetAtt"),
        ({"MeshName": {"Fn::ImportValue": "shared-mesh"}}, "Resources.Mesh.Properties.MeshName.Fn::ImportValue", "not resolved"),
    ],
)
def test_a_malformed_or_unsupported_intrinsic_is_refused_by_its_path(change: dict[str, Any], field: str, says: str) -> None:
    template = json.loads(json.dumps(MESH_TEMPLATE))
    template["Resources"]["Mesh"]["Properties"].update(change)

    with pytest.raises(InvalidRolloutInput) as caught:
        input_from_cloudformation(template, {"Env": "dev", **PSEUDO})

    assert (caught.value.field, says in str(caught.value)) == (field, True)


def test_a_macro_is_refused_as_it_may_change_the_resources() -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        input_from_cloudformation({**MESH_TEMPLATE, "Transform": ["AWS::Serverless-2016-10-31", "AWS::Include"]}, {})

    assert caught.value.field == "Transform"


def test_a_template_that_is_not_yaml_is_one_line_with_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "mesh.yaml"
    broken.write_text("Resources:\n  Mesh: [\n")

    code, out, err = run_cli(capsys, "--template", str(broken))

    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "not YAML" in err and "line 3" in err


def test_the_colorapps_template_names_a_mesh_defined_elsewhere_which_keeps_app_meshs_defaults() -> None:
    parameters = {"EnvironmentName": "demo", "ServicesDomain": "demo.local", "AppMeshMeshName": "colors"}

    made = input_from_cloudformation(load_template(str(DATA / "colorapp-appmesh.yaml")), parameters)

    assert made["mesh"] == {"meshName": "colors"}  # no spec: DROP_ALL egress, as App Mesh's default
    assert [s["virtualServiceName"] for s in made["virtualServices"]] == ["colorteller.demo.local", "tcpecho.demo.local"]
    tcp = next(n for n in made["virtualNodes"] if n["virtualNodeName"] == "tcpecho-vn")
    assert tcp["spec"]["listeners"][0]["healthCheck"] == {
        "protocol": "tcp",
        "healthyThreshold": 2,
        "unhealthyThreshold": 2,
        "timeoutMillis": 2000,
        "intervalMillis": 5000,
    }
