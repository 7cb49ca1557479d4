"""The emulator's VPC Lattice and ALB weighted forward actions behave as the models and the documentation say."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout_local.runner import OfflineAccount
from tests.support import error_of


def forward(weights: dict[str, int]) -> dict[str, Any]:
    return {"forward": {"targetGroups": [{"targetGroupIdentifier": t, "weight": w} for t, w in weights.items()]}}


@pytest.fixture(scope="module")
def lattice(emulated: OfflineAccount) -> dict[str, Any]:
    vpc = emulated.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    client = emulated.client("vpc-lattice")
    service = client.create_service(name="serviceb")
    config = {"port": 80, "protocol": "HTTP", "protocolVersion": "HTTP2", "vpcIdentifier": vpc}
    b, b2 = (client.create_target_group(name=n, type="IP", config=config) for n in ("serviceb", "servicebv2"))
    listener = client.create_listener(
        serviceIdentifier=service["id"],
        name="http",
        protocol="HTTP",
        port=80,
        defaultAction=forward({b["id"]: 75, b2["arn"]: 25}),
    )
    rule = client.create_rule(
        serviceIdentifier=service["arn"],
        listenerIdentifier=listener["arn"],
        name="all",
        priority=10,
        match={"httpMatch": {"pathMatch": {"match": {"prefix": "/"}}}},
        action=forward({b["id"]: 75, b2["id"]: 25}),
    )
    return {"client": client, "service": service, "listener": listener, "rule": rule, "b": b, "b2": b2}


def test_lattice_rules_are_read_listed_and_updated_by_id_or_arn(lattice: dict[str, Any]) -> None:
    client, service, listener, rule = (lattice[k] for k in ("client", "service", "listener", "rule"))
    assert rule["arn"] == f"{listener['arn']}/rule/{rule['id']}"  # moto alone writes listener/listener-listener-...
    got = client.get_rule(serviceIdentifier=service["arn"], listenerIdentifier=listener["id"], ruleIdentifier=rule["arn"])
    assert got["action"] == rule["action"] and got["isDefault"] is False and got["priority"] == 10
    listed = client.list_rules(serviceIdentifier=service["id"], listenerIdentifier=listener["arn"])["items"]
    assert [(r["name"], r["isDefault"]) for r in listed] == [("default", True), ("all", False)]
    new = forward({lattice["b"]["id"]: 500, lattice["b2"]["id"]: 500})
    updated = client.update_rule(
        serviceIdentifier=service["id"], listenerIdentifier=listener["id"], ruleIdentifier=rule["id"], action=new
    )
    assert updated["action"] == new
    assert (
        client.get_rule(serviceIdentifier=service["id"], listenerIdentifier=listener["id"], ruleIdentifier=rule["id"])["action"]
        == new
    )


def test_lattice_default_action_changes_through_update_listener_only(lattice: dict[str, Any]) -> None:
    client, service, listener = (lattice[k] for k in ("client", "service", "listener"))
    default = next(
        r
        for r in client.list_rules(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])["items"]
        if r["isDefault"]
    )
    action = forward({lattice["b"]["id"]: 10, lattice["b2"]["id"]: 990})
    keys = {"serviceIdentifier": service["id"], "listenerIdentifier": listener["id"]}
    assert error_of(client.update_rule, **keys, ruleIdentifier=default["id"], action=action) == ("ValidationException", 400)
    assert client.update_listener(**keys, defaultAction=action)["defaultAction"] == action
    assert client.get_listener(**keys)["defaultAction"] == action
    assert client.get_rule(**keys, ruleIdentifier=default["id"])["action"] == action


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ({"b": 1000}, ("ValidationException", 400)),  # weight 0-999 (TargetGroupWeight)
        ({"b": 1, **{f"x{i}": 1 for i in range(10)}}, ("ValidationException", 400)),  # 1-10 target groups
        ({"missing": 1}, ("ResourceNotFoundException", 404)),
    ],
    ids=["weight over 999", "eleven target groups", "missing target group"],
)
def test_lattice_forward_actions_follow_the_model(
    lattice: dict[str, Any], targets: dict[str, int], expected: tuple[str, int]
) -> None:
    client, service, listener, rule = (lattice[k] for k in ("client", "service", "listener", "rule"))
    ids = {"b": lattice["b"]["id"], "missing": "tg-00000000000000000"}
    action = forward({ids.get(t, f"tg-{t:0>17}"): w for t, w in targets.items()})
    keys = {"serviceIdentifier": service["id"], "listenerIdentifier": listener["id"]}
    assert error_of(client.update_rule, **keys, ruleIdentifier=rule["id"], action=action) == expected
    assert error_of(client.update_listener, **keys, defaultAction=action) == expected


def test_lattice_missing_rules_are_404(lattice: dict[str, Any]) -> None:
    keys = {"serviceIdentifier": lattice["service"]["id"], "listenerIdentifier": lattice["listener"]["id"]}
    assert error_of(lattice["client"].get_rule, **keys, ruleIdentifier="rule-00000000000000000") == (
        "ResourceNotFoundException",
        404,
    )


@pytest.fixture(scope="module")
def alb(emulated: OfflineAccount) -> dict[str, Any]:
    ec2, elb = emulated.client("ec2"), emulated.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"us-west-2{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    lb = elb.create_load_balancer(Name="apps", Subnets=subnets, Type="application")["LoadBalancers"][0]["LoadBalancerArn"]

    def group(name: str, protocol: str = "HTTP", in_vpc: str = vpc) -> str:
        created = elb.create_target_group(Name=name, Protocol=protocol, Port=80, VpcId=in_vpc, TargetType="ip")
        return str(created["TargetGroups"][0]["TargetGroupArn"])

    groups = {"b": group("serviceB"), "b2": group("serviceBv2"), "other-vpc": group("elsewhere", in_vpc=other)}
    groups["tcp"] = group("tcp", protocol="TCP")
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=alb_forward(groups, b=75, b2=25))
    return {"elb": elb, "groups": groups, "listener": listener["Listeners"][0]["ListenerArn"]}


def alb_forward(groups: dict[str, str], **weights: int) -> list[dict[str, Any]]:
    targets = [{"TargetGroupArn": groups.get(name, f"{groups['b']}-{name}"), "Weight": w} for name, w in weights.items()]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"b": 1000, "b2": 1}, "ValidationError"),
        ({"b": 1, "b2": 1, "x3": 1, "x4": 1, "x5": 1, "x6": 1}, "ValidationError"),
        ({"b": 1, "other-vpc": 1}, "InvalidConfigurationRequest"),
        ({"b": 1, "tcp": 1}, "InvalidConfigurationRequest"),
        ({"b": 1, "gone": 1}, "TargetGroupNotFound"),
    ],
    ids=["weight over 999", "six target groups", "another VPC", "TCP target group", "missing target group"],
)
def test_alb_forward_actions_follow_the_documentation(alb: dict[str, Any], weights: dict[str, int], expected: str) -> None:
    elb, listener = alb["elb"], alb["listener"]
    assert (
        error_of(elb.modify_listener, ListenerArn=listener, DefaultActions=alb_forward(alb["groups"], **weights))[0] == expected
    )


def test_alb_default_rule_and_default_actions_are_one(alb: dict[str, Any]) -> None:
    elb, listener, groups = alb["elb"], alb["listener"], alb["groups"]
    default = next(r for r in elb.describe_rules(ListenerArn=listener)["Rules"] if r["IsDefault"])
    elb.modify_rule(RuleArn=default["RuleArn"], Actions=alb_forward(groups, b=10, b2=90))
    seen = elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    assert [t["Weight"] for t in seen] == [10, 90]
    elb.modify_listener(ListenerArn=listener, DefaultActions=alb_forward(groups, b=75, b2=25))
    rule = next(r for r in elb.describe_rules(ListenerArn=listener)["Rules"] if r["IsDefault"])
    assert [t["Weight"] for t in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]] == [75, 25]


def test_ecs_keeps_vpc_lattice_configurations_on_each_deployment(emulated: OfflineAccount) -> None:
    ec2, ecs = emulated.client("ec2"), emulated.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="lattice", Description="d", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="lattice")
    ecs.register_task_definition(
        family="web",
        networkMode="awsvpc",
        containerDefinitions=[
            {"name": "app", "image": "a", "memory": 256, "portMappings": [{"containerPort": 80, "name": "http"}]}
        ],
    )
    first = [
        {"roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole", "targetGroupArn": "arn:tg/1", "portName": "http"}
    ]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    created = ecs.create_service(
        cluster="lattice",
        serviceName="web",
        taskDefinition="web",
        desiredCount=1,
        networkConfiguration=network,
        vpcLatticeConfigurations=first,
    )["service"]
    assert created["deployments"][0]["vpcLatticeConfigurations"] == first
    second = [{**first[0], "targetGroupArn": "arn:tg/2"}]
    ecs.update_service(cluster="lattice", service="web", vpcLatticeConfigurations=second)
    (service,) = ecs.describe_services(cluster="lattice", services=["web"])["services"]
    primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    assert primary["vpcLatticeConfigurations"] == second  # a new deployment, as the UpdateService docs say
    assert len(service["deployments"]) == 2
    # an empty list detaches the service (as `loadBalancers: []` does), in a deployment of its own
    ecs.update_service(cluster="lattice", service="web", vpcLatticeConfigurations=[])
    (service,) = ecs.describe_services(cluster="lattice", services=["web"])["services"]
    primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    assert "vpcLatticeConfigurations" not in primary and primary["rolloutState"] == "IN_PROGRESS"


def test_lattice_services_are_listed_page_by_page(emulated: OfflineAccount) -> None:
    client = emulated.client("vpc-lattice")
    before = {s["name"] for s in client.list_services()["items"]}  # the module's other tests' services
    made = {client.create_service(name=f"paged-{i:03d}")["name"] for i in range(60)}  # past moto's page of 50
    first = client.list_services(maxResults=10)
    assert len(first["items"]) == 10 and first["nextToken"]
    pages = client.get_paginator("list_services").paginate(PaginationConfig={"PageSize": 25})
    assert {s["name"] for page in pages for s in page["items"]} == before | made
