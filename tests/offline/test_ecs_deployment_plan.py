"""PlanEcsDeployment (issue 22): the input, blue and green read from the production rule, the steps, the
deploymentConfiguration UpdateService will send (the user's hooks and alarms kept, our PAUSE hook once), each
refusal that reads the service naming its field, and gate mode (the steps and the refusals of the input alone:
tests/unit/test_ecs_deployment_plan.py).

ALB and VPC Lattice rules live in moto with the emulator; ECS answers through botocore's Stubber (moto 5.2.5 drops
deploymentConfiguration.strategy and has no ListServiceDeployments), its parameter and response validation on."""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mesh_rollout.deploying.plan import ONGOING, plan_ecs_deployment
from mesh_rollout.errors import EcsServiceNotFound, InvalidRolloutInput, UnknownReference
from mesh_rollout_local import emulator
from tests.support.ecs import DEPLOYMENT_ARN, start

REGION, ACCOUNT = "us-west-2", "123456789012"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/apps/checkout"
TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure"
PLAN_KEYS = {
    "cluster", "service", "serviceArn", "lockId", "lockSeconds", "mode", "serviceDeploymentArn", "taskDefinition",
    "images", "deploymentConfiguration", "strategy", "steps", "backend", "productionRule", "canary", "stable",
    "healthGate", "preStepGate", "approvalSteps", "approvalTimeoutSeconds", "settleSeconds", "pollSeconds",
    "maxPolls", "hookTimeoutMinutes", "bakeSeconds",
}  # fmt: skip
USER_HOOK = {
    "targetType": "AWS_LAMBDA",
    "hookTargetArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:smoke-test",
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-hooks",
    "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"],
    "hookDetails": {"path": "/health", "expect": [200, 204]},
    "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"},
}
USER_CONFIG = {
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "alarms": {"alarmNames": ["checkout-5xx", "checkout-latency"], "rollback": True, "enable": True},
    "strategy": "LINEAR",
    "bakeTimeInMinutes": 5,
    "lifecycleHooks": [USER_HOOK],
    "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 4},
}


@pytest.fixture
def aws() -> Iterator[None]:
    emulator.install()
    with mock_aws():
        yield


# --- the world: an ALB rule and a VPC Lattice rule forwarding to blue (100) and green (0) --------------------


def alb_world(blue_weight: int = 100, green_weight: int = 0) -> dict[str, Any]:
    ec2, elb = boto3.client("ec2", region_name=REGION), boto3.client("elbv2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    lb = elb.create_load_balancer(Name="apps", Subnets=subnets, Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {
        name: elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for name in ("checkout-blue", "checkout-green")
    }
    listener = elb.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    targets = [
        {"TargetGroupArn": groups["checkout-blue"], "Weight": blue_weight},
        {"TargetGroupArn": groups["checkout-green"], "Weight": green_weight},
    ]
    rule = elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}],
    )["Rules"][0]["RuleArn"]
    return {"elbv2": elb, "blue": groups["checkout-blue"], "green": groups["checkout-green"], "rule": rule, "lb": lb}


def lattice_world(blue_weight: int = 100, green_weight: int = 0) -> dict[str, Any]:
    ec2, lattice = boto3.client("ec2", region_name=REGION), boto3.client("vpc-lattice", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    service = lattice.create_service(name="checkout")
    config = {"port": 80, "protocol": "HTTP", "protocolVersion": "HTTP1", "vpcIdentifier": vpc}
    blue, green = (lattice.create_target_group(name=n, type="IP", config=config) for n in ("checkout-blue", "checkout-green"))
    forward = {
        "forward": {
            "targetGroups": [
                {"targetGroupIdentifier": blue["id"], "weight": blue_weight},
                {"targetGroupIdentifier": green["id"], "weight": green_weight},
            ]
        }
    }
    listener = lattice.create_listener(
        serviceIdentifier=service["id"],
        name="http",
        protocol="HTTP",
        port=80,
        defaultAction={"fixedResponse": {"statusCode": 404}},
    )
    rule = lattice.create_rule(
        serviceIdentifier=service["id"],
        listenerIdentifier=listener["id"],
        name="all",
        priority=10,
        match={"httpMatch": {"pathMatch": {"match": {"prefix": "/"}}}},
        action=forward,
    )
    return {
        "lattice": lattice,
        "blue": blue["arn"],
        "green": green["arn"],
        "rule": rule["arn"],
        "ids": (service["id"], listener["id"], rule["id"]),
    }


def described(
    world: dict[str, Any] | None,
    backend: str = "alb",
    config: dict[str, Any] | None = None,
    primary: str = "blue",
    controller: str = "ECS",
    advanced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The service as DescribeServices returns it: `primary` is the side in targetGroupArn (ECS may leave the
    other one there after a deployment: which is blue is read from the rule)."""
    other = "green" if primary == "blue" else "blue"
    service: dict[str, Any] = {
        "serviceArn": SERVICE_ARN,
        "serviceName": "checkout",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/apps",
        "status": "ACTIVE",
        "desiredCount": 2,
        "taskDefinition": f"{TD}:7",
        "deploymentController": {"type": controller},
        "deploymentConfiguration": copy.deepcopy(USER_CONFIG if config is None else config),
        "loadBalancers": [],
        "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": f"{TD}:7"}],
    }
    if world is None:
        return service
    settings = advanced if advanced is not None else {
        "alternateTargetGroupArn": world[other], "productionListenerRule": world["rule"]
    }  # fmt: skip
    if backend == "lattice":
        service["deployments"][0]["vpcLatticeConfigurations"] = [
            {"roleArn": ROLE, "targetGroupArn": world[primary], "portName": "http", "advancedConfiguration": settings}
        ]
    else:
        entry = {"targetGroupArn": world[primary], "containerName": "app", "containerPort": 8080}
        service["loadBalancers"] = [{**entry, "advancedConfiguration": {**settings, "roleArn": ROLE}} if settings else entry]
    return service


class Ecs:
    """An ECS client whose answers are stubbed, in the order the planner asks."""

    def __init__(self) -> None:
        self.client = boto3.client("ecs", region_name=REGION)
        self.stub = Stubber(self.client)
        self.stub.activate()

    def service(self, service: dict[str, Any]) -> Ecs:
        params = {"cluster": "apps", "services": ["checkout"]}
        self.stub.add_response("describe_services", {"services": [service], "failures": []}, params)
        return self

    def deploying(self, *running: dict[str, Any]) -> Ecs:
        params = {"cluster": "apps", "service": "checkout", "status": ONGOING}
        self.stub.add_response("list_service_deployments", {"serviceDeployments": list(running)}, params)
        return self

    def task_definition(self, arn: str, images: dict[str, str] | None = None, *, tags: bool = False) -> Ecs:
        containers = [{"name": name, "image": image} for name, image in (images or {"app": "checkout:v1"}).items()]
        found = {"taskDefinitionArn": arn, "family": "checkout", "containerDefinitions": containers}
        params: dict[str, Any] = {"taskDefinition": arn.rsplit("/", 1)[-1] if not tags else arn}
        if tags:
            params["include"] = ["TAGS"]
        self.stub.add_response("describe_task_definition", {"taskDefinition": found, "tags": []}, params)
        return self

    def deployment(self, deployment: dict[str, Any]) -> Ecs:
        params = {"serviceDeploymentArns": [DEPLOYMENT_ARN]}
        self.stub.add_response("describe_service_deployments", {"serviceDeployments": [deployment], "failures": []}, params)
        return self


def plan(raw: dict[str, Any], ecs: Ecs, world: dict[str, Any] | None = None) -> dict[str, Any]:
    clients = {k: world[k] for k in ("elbv2", "lattice") if world and k in world}
    return plan_ecs_deployment(raw, ecs.client, boto3.client("cloudwatch", region_name=REGION), "*", **clients)


def refused(raw: Any, ecs: Ecs, world: dict[str, Any] | None = None) -> InvalidRolloutInput:
    with pytest.raises(InvalidRolloutInput) as caught:
        plan(raw, ecs, world)
    return caught.value


# --- ALB and VPC Lattice: blue carries production now, green is the other -----------------------------------


def test_a_linear_deployment_on_an_alb_is_planned_with_every_key_of_the_design(aws: None) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:8")
    raw = start(
        deploymentConfiguration={"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 20}, "bakeTimeInMinutes": 10},
        approval={"beforeSteps": [20, 100], "timeoutSeconds": 3600},
    )
    got = plan(raw, ecs, world)
    assert set(got) == PLAN_KEYS
    assert got["mode"] == "start" and got["serviceDeploymentArn"] is None
    assert got["steps"] == [20, 40, 60, 80, 100] and got["strategy"] == "LINEAR"
    assert (got["backend"], got["canary"], got["stable"]) == ("alb", world["green"], world["blue"])
    assert got["productionRule"]["backend"] == "alb" and got["productionRule"]["ruleArn"] == world["rule"]
    assert got["taskDefinition"] == f"{TD}:8" and got["images"] is None
    assert got["lockId"] == f"ecs:{SERVICE_ARN}" and got["serviceArn"] == SERVICE_ARN
    # stepBakeTimeInMinutes stays the service's (4) where the input gives only stepPercent
    assert got["deploymentConfiguration"]["linearConfiguration"] == {"stepPercent": 20, "stepBakeTimeInMinutes": 4}
    assert got["bakeSeconds"] == {"step": 240, "final": 600}
    assert got["settleSeconds"] == 0 and got["pollSeconds"] == 30
    assert got["approvalSteps"] == [20, 100] and got["approvalTimeoutSeconds"] == 3600
    # one pause may wait for the final bake (10 min: 100 % is held at the POST pause before it is judged), 10
    # re-checks of 60 s and the approval's hour, plus 10 minutes
    assert got["hookTimeoutMinutes"] == 10 + 10 + 60 + 10
    assert got["maxPolls"] == -(-(3600 + 600) // 30)
    gate = 600
    held = 4 * (240 + gate) + gate
    assert got["lockSeconds"] == gate + held + 2 * 3600 + 600 + got["maxPolls"] * 30 + 3600
    json.dumps(got)  # the state machine's data


def test_blue_and_green_are_read_from_the_alb_rule_when_they_have_traded_places(aws: None) -> None:
    world = alb_world(blue_weight=0, green_weight=100)  # the last deployment moved production to "checkout-green"
    ecs = Ecs().service(described(world, primary="blue")).deploying().task_definition(f"{TD}:8")
    got = plan(start(), ecs, world)
    assert (got["canary"], got["stable"]) == (world["blue"], world["green"])
    assert got["steps"] == [25, 50, 75, 100]  # the service's own LINEAR 25 %


@pytest.mark.parametrize("flipped", [False, True])
def test_blue_and_green_are_read_from_the_lattice_rule(aws: None, flipped: bool) -> None:
    world = lattice_world(*((0, 100) if flipped else (100, 0)))
    ecs = Ecs().service(described(world, "lattice")).deploying().task_definition(f"{TD}:8")
    got = plan(start(deploymentConfiguration={"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10}}), ecs, world)
    blue, green = (world["green"], world["blue"]) if flipped else (world["blue"], world["green"])
    assert (got["backend"], got["canary"], got["stable"]) == ("lattice", green, blue)
    service, listener, rule = world["ids"]
    reference = got["productionRule"]
    assert (reference["backend"], reference["service"], reference["listener"], reference["rule"]) == (
        "lattice",
        service,
        listener,
        rule,
    )
    assert got["steps"] == [10, 100] and got["settleSeconds"] == 90
    assert got["bakeSeconds"] == {"step": 600, "final": 300}  # ECS's default canaryBakeTimeInMinutes 10


def test_settle_seconds_given_override_the_backends(aws: None) -> None:
    world = lattice_world()
    ecs = Ecs().service(described(world, "lattice")).deploying().task_definition(f"{TD}:8")
    assert plan(start(settleSeconds=15), ecs, world)["settleSeconds"] == 15


def test_the_gate_judges_green_against_blue_with_the_weight_shifts_presets(aws: None) -> None:
    world = alb_world(blue_weight=0, green_weight=100)
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:8")
    gate = {
        "alarmNames": ["checkout-5xx"],
        "maxErrorRate": 0.01,
        "compare": {"metrics": [{"id": "errors", "preset": "errorRate"}]},
    }
    got = plan(start(healthGate=gate), ecs, world)
    canary_dimension = world["blue"].split(":", 5)[-1]  # green now: the group with no production traffic
    (preset,) = got["healthGate"]["metrics"]
    assert preset["id"] == "canaryErrorRate" and preset["threshold"] == 0.01
    assert {"Name": "TargetGroup", "Value": canary_dimension} in preset["metricStat"]["Metric"]["Dimensions"]
    (judged,) = got["healthGate"]["compare"]["metrics"]
    sides = {side: judged[side]["metricStat"]["Metric"]["Dimensions"][0]["Value"] for side in ("canary", "stable")}
    assert sides == {"canary": canary_dimension, "stable": world["green"].split(":", 5)[-1]}
    assert got["healthGate"]["alarmNames"] == ["checkout-5xx"]
    assert got["preStepGate"] == {**got["healthGate"], "metrics": [], "compare": None}


# --- the configuration UpdateService will send --------------------------------------------------------------


def test_the_users_hooks_alarms_and_circuit_breaker_are_kept_byte_for_byte_and_our_pause_hook_is_appended(aws: None) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:8")
    got = plan(start(deploymentConfiguration={"strategy": "CANARY"}, hookTimeoutMinutes=120), ecs, world)[
        "deploymentConfiguration"
    ]
    expected = {
        **USER_CONFIG,
        "strategy": "CANARY",
        "lifecycleHooks": [
            USER_HOOK,
            {
                "targetType": "PAUSE",
                "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 120, "action": "ROLLBACK"},
            },
        ],
    }
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert json.dumps(got["lifecycleHooks"][0]) == json.dumps(USER_HOOK)  # member order too


def test_a_pause_hook_already_on_the_service_is_not_added_twice(aws: None) -> None:
    world = alb_world()
    ours = {
        "targetType": "PAUSE",
        "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 80, "action": "ROLLBACK"},
    }
    config = {**USER_CONFIG, "lifecycleHooks": [USER_HOOK, ours]}
    ecs = Ecs().service(described(world, config=config)).deploying().task_definition(f"{TD}:8")
    got = plan(start(), ecs, world)["deploymentConfiguration"]
    assert got == config


def test_image_definitions_are_released_first_from_the_running_task_definition(aws: None) -> None:
    world = alb_world()
    images = {"app": "checkout:v1", "envoy": "envoy:1"}
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:7", images, tags=True)
    raw = {"cluster": "apps", "service": "checkout", "imageDefinitions": [{"name": "app", "imageUri": "checkout:v2"}]}
    got = plan(raw, ecs, world)
    assert got["images"] == {"app": "checkout:v2"} and got["taskDefinition"] is None


# --- gate mode ---------------------------------------------------------------------------------------------


def running_deployment(weight: float, status: str = "IN_PROGRESS", hooks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    pause = {
        "targetType": "PAUSE",
        "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 240, "action": "ROLLBACK"},
    }
    return {
        "serviceDeploymentArn": DEPLOYMENT_ARN,
        "serviceArn": SERVICE_ARN,
        "status": status,
        "targetServiceRevision": {"arn": f"{SERVICE_ARN}/rev-2", "requestedProductionTrafficWeight": weight},
        "sourceServiceRevisions": [{"arn": f"{SERVICE_ARN}/rev-1", "requestedProductionTrafficWeight": 100 - weight}],
        "deploymentConfiguration": {
            **USER_CONFIG,
            "lifecycleHooks": [USER_HOOK, pause] if hooks is None else hooks,
        },
    }


def test_gate_mode_gates_the_running_deployment_with_its_own_configuration(aws: None) -> None:
    world = alb_world(blue_weight=75, green_weight=25)  # ECS has taken the first of its 25 % steps
    ecs = Ecs().service(described(world)).deployment(running_deployment(25.0))
    raw = {"cluster": "apps", "service": "checkout", "serviceDeploymentArn": DEPLOYMENT_ARN, "approval": {"beforeSteps": [100]}}
    got = plan(raw, ecs, world)
    assert (got["mode"], got["serviceDeploymentArn"], got["taskDefinition"], got["images"]) == (
        "gate",
        DEPLOYMENT_ARN,
        None,
        None,
    )
    assert (got["canary"], got["stable"]) == (world["green"], world["blue"])
    assert got["deploymentConfiguration"] == running_deployment(25.0)["deploymentConfiguration"]  # nothing appended
    assert got["steps"] == [25, 50, 75, 100] and got["hookTimeoutMinutes"] == 240


def test_gate_mode_tells_green_by_the_deployments_requested_weight_when_the_groups_traded_places(aws: None) -> None:
    world = alb_world(blue_weight=25, green_weight=75)  # "checkout-blue" is the new revision's, at 25 %
    ecs = Ecs().service(described(world)).deployment(running_deployment(25.0))
    got = plan({"cluster": "apps", "service": "checkout", "serviceDeploymentArn": DEPLOYMENT_ARN}, ecs, world)
    assert (got["canary"], got["stable"]) == (world["blue"], world["green"])


@pytest.mark.parametrize(
    ("deployment", "problem"),
    [
        (running_deployment(100.0, status="SUCCESSFUL"), "SUCCESSFUL"),
        (running_deployment(0.0, hooks=[USER_HOOK]), "no PAUSE hook"),
    ],
)
def test_gate_mode_refuses_a_deployment_it_cannot_gate(aws: None, deployment: dict[str, Any], problem: str) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deployment(deployment)
    error = refused({"cluster": "apps", "service": "checkout", "serviceDeploymentArn": DEPLOYMENT_ARN}, ecs, world)
    assert error.field == "serviceDeploymentArn" and problem in str(error)


# --- refusals that read the service -----------------------------------------------------------------------


def test_a_service_already_deploying_is_refused(aws: None) -> None:
    world = alb_world()
    brief = {"serviceDeploymentArn": DEPLOYMENT_ARN, "status": "IN_PROGRESS"}
    error = refused(start(), Ecs().service(described(world)).deploying(brief), world)
    assert error.field == "service" and DEPLOYMENT_ARN in str(error) and "serviceDeploymentArn" in str(error)


def test_a_deployment_controller_other_than_ecs_is_refused(aws: None) -> None:
    world = alb_world()
    error = refused(start(), Ecs().service(described(world, controller="CODE_DEPLOY")), world)
    assert error.field == "service" and "CODE_DEPLOY" in str(error)


@pytest.mark.parametrize(
    ("raw", "field"),
    [(start(), "service"), (start(deploymentConfiguration={"strategy": "LINEAR"}), "deploymentConfiguration.strategy")],
)
def test_a_service_without_the_alternate_target_group_and_rule_is_refused(aws: None, raw: dict[str, Any], field: str) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world, advanced={})).deploying()
    error = refused(raw, ecs, world)
    assert error.field == field and "alternateTargetGroupArn and productionListenerRule" in str(error)


def test_a_service_without_a_production_rule_is_refused_naming_what_is_missing(aws: None) -> None:
    world = lattice_world()
    ecs = Ecs().service(described(world, "lattice", advanced={"alternateTargetGroupArn": world["green"]})).deploying()
    error = refused(start(), ecs, world)
    assert error.field == "service" and "vpcLatticeConfigurations[0].advancedConfiguration.productionListenerRule" in str(error)


def test_a_service_with_no_load_balancer_lattice_or_service_connect_is_refused(aws: None) -> None:
    error = refused(start(), Ecs().service(described(None)).deploying())
    assert error.field == "service" and "Service Connect" in str(error)


def test_a_rolling_service_without_a_strategy_in_the_input_is_refused(aws: None) -> None:
    world = alb_world()
    config = {**USER_CONFIG, "strategy": "ROLLING"}
    error = refused(start(), Ecs().service(described(world, config=config)).deploying(), world)
    assert error.field == "deploymentConfiguration.strategy" and "ROLLING" in str(error)


def test_blue_green_without_a_bake_time_anywhere_is_refused(aws: None) -> None:
    world = alb_world()
    config = {k: v for k, v in USER_CONFIG.items() if k != "bakeTimeInMinutes"}
    raw = start(deploymentConfiguration={"strategy": "BLUE_GREEN"})
    error = refused(raw, Ecs().service(described(world, config=config)).deploying(), world)
    assert error.field == "deploymentConfiguration.bakeTimeInMinutes"


def test_an_approval_before_a_percent_that_is_not_a_step_is_refused(aws: None) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deploying()
    error = refused(start(approval={"beforeSteps": [100, 30]}), ecs, world)  # the service's steps: 25, 50, 75, 100
    assert error.field == "approval.beforeSteps[1]" and "[25, 50, 75, 100]" in str(error)


def test_a_rule_splitting_production_between_both_groups_is_refused_in_start_mode(aws: None) -> None:
    world = alb_world(blue_weight=50, green_weight=50)
    error = refused(start(), Ecs().service(described(world)).deploying(), world)
    assert error.field == "service" and "50 %" in str(error)


def test_the_revision_the_service_already_runs_is_refused(aws: None) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:7")
    assert refused(start(taskDefinition="checkout:7"), ecs, world).field == "taskDefinition"


def test_a_task_definition_that_does_not_exist_is_refused(aws: None) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deploying()
    ecs.stub.add_client_error(
        "describe_task_definition",
        "ClientException",
        "Unable to describe task definition.",
        expected_params={"taskDefinition": "checkout:8"},
    )
    error = refused(start(), ecs, world)
    assert isinstance(error, UnknownReference) and error.field == "taskDefinition"


def test_a_service_that_does_not_exist_is_refused_naming_service(aws: None) -> None:
    ecs = Ecs()
    ecs.stub.add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": SERVICE_ARN, "reason": "MISSING"}]},
        {"cluster": "apps", "services": ["checkout"]},
    )
    error = refused(start(), ecs)
    assert isinstance(error, EcsServiceNotFound) and error.field == "service"


def test_a_cluster_outside_the_stacks_clusters_is_refused(aws: None) -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        plan_ecs_deployment(start(), Ecs().client, boto3.client("cloudwatch", region_name=REGION), "prod-*")
    assert caught.value.field == "cluster"


CPU = {"Metric": {"Namespace": "AWS/ECS", "MetricName": "CPUUtilization"}, "Period": 60, "Stat": "Average"}


@pytest.mark.parametrize(
    ("gate", "field"),
    [
        ({"maxErrorRate": 0.01}, "healthGate.maxErrorRate"),
        ({"maxLatencyMs": 200}, "healthGate.maxLatencyMs"),
        ({"compare": {"metrics": [{"id": "errors", "preset": "errorRate"}]}}, "healthGate.compare.metrics[0].preset"),
        ({"compare": {"metrics": [{"id": "cpu", "metricStat": CPU}]}}, "healthGate.compare"),
    ],
)
def test_presets_on_service_connect_are_refused(aws: None, gate: dict[str, Any], field: str) -> None:
    service = described(None)
    service["deployments"][0]["serviceConnectConfiguration"] = {"enabled": True, "namespace": "apps"}
    error = refused(start(healthGate=gate), Ecs().service(service).deploying())
    assert error.field == field


def test_service_connect_plans_without_a_rule_or_target_groups(aws: None) -> None:
    service = described(None)
    service["deployments"][0]["serviceConnectConfiguration"] = {"enabled": True, "namespace": "apps"}
    got = plan(start(healthGate={"alarmNames": ["checkout-5xx"]}), Ecs().service(service).deploying().task_definition(f"{TD}:8"))
    assert (got["backend"], got["productionRule"], got["canary"], got["stable"], got["settleSeconds"]) == (
        "serviceConnect",
        None,
        None,
        None,
        0,
    )


# --- the handler -------------------------------------------------------------------------------------------


def test_the_handler_plans_from_the_execution_input(aws: None, monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> None:
    world = alb_world()
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:8")
    module = importlib.import_module("handlers.plan_ecs_deployment")
    clients = {"ecs": ecs.client, "elbv2": world["elbv2"]}
    monkeypatch.setattr("mesh_rollout.deploying.plan.client", lambda name: clients[name])
    monkeypatch.setattr(module, "client", lambda name: clients.get(name) or boto3.client(name, region_name=REGION))
    event = {"executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:ecs:run-1", "rollout": start()}
    got = module.lambda_handler(event, lambda_context)
    assert got["canary"] == world["green"] and got["steps"] == [25, 50, 75, 100]


def test_an_nlb_listener_is_read_for_blue_and_green_and_settles_600_seconds(aws: None) -> None:
    """An NLB's production "rule" is its listener (API_AdvancedConfiguration.html); moto writes NLB listener ARNs
    with /app/, so ELB answers through a Stubber here, with AWS's /net/ ARN."""
    elb = boto3.client("elbv2", region_name=REGION)
    prefix = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
    listener = f"{prefix}:listener/net/apps-nlb/50dc6c495c0c9188/f2f7dc8efc522ab2"
    blue, green = (f"{prefix}:targetgroup/{n}/73e2d6bc24d8a067" for n in ("nlb-blue", "nlb-green"))
    targets = [{"TargetGroupArn": blue, "Weight": 0}, {"TargetGroupArn": green, "Weight": 100}]
    answer = {
        "Listeners": [
            {"ListenerArn": listener, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}]}
        ]
    }
    stub = Stubber(elb)
    stub.add_response("describe_listeners", answer, {"ListenerArns": [listener]})
    stub.activate()
    world = {"elbv2": elb, "blue": blue, "green": green, "rule": listener}
    ecs = Ecs().service(described(world)).deploying().task_definition(f"{TD}:8")
    got = plan(start(), ecs, world)
    assert (got["backend"], got["canary"], got["stable"], got["productionRule"]) == ("nlb", blue, green, None)
    assert got["settleSeconds"] == 600
    error = refused(start(healthGate={"maxErrorRate": 0.01}), Ecs().service(described(world)).deploying(), world)
    assert error.field == "healthGate.maxErrorRate"
