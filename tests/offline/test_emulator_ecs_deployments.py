"""The emulator's ECS service deployments (BLUE_GREEN, LINEAR, CANARY) behave as the ECS developer guide says:
stages, weights on the production listener rule, PAUSE and Lambda lifecycle hooks, alarms, rollback, events.

Every test waits on a condition with a generous deadline; none sleeps a fixed time and then asserts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from mesh_rollout_local import emulator
from mesh_rollout_local.emulator import ecs_deployments
from mesh_rollout_local.emulator import events as emulated_events
from tests.conftest import wait_for

REGION = "us-west-2"
DEADLINE = 15.0
# 20160 minutes (the model's maximum) is 40 s at the tests' scale: no pause times out while a busy machine answers it
PAUSE = {"targetType": "PAUSE", "timeoutConfiguration": {"timeoutInMinutes": 20160, "action": "ROLLBACK"}}


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


class World:
    """An ALB and a VPC Lattice service, each with a blue and a green target group and a production rule; an ECS
    cluster with task definitions app:1..3; Lambda functions whose handlers the test sets (`handlers`)."""

    def __init__(self) -> None:
        self.ec2, self.elb, self.ecs = (client(s) for s in ("ec2", "elbv2", "ecs"))
        self.lattice, self.awslambda, self.events, self.cloudwatch = (
            client(s) for s in ("vpc-lattice", "lambda", "events", "cloudwatch")
        )
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
                "SubnetId"
            ]
            for i, zone in ((1, "a"), (2, "b"))
        ]
        lb = self.elb.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        self.blue, self.green = (
            self.elb.create_target_group(Name=n, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0][
                "TargetGroupArn"
            ]
            for n in ("blue", "green")
        )
        listener = self.elb.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"]
        self.rule = self.elb.create_rule(
            ListenerArn=listener,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
            Actions=[self.alb_forward(100, 0)],
        )["Rules"][0]["RuleArn"]
        service = self.lattice.create_service(name="app")
        config = {"port": 80, "protocol": "HTTP", "vpcIdentifier": vpc}
        self.lattice_blue, self.lattice_green = (
            self.lattice.create_target_group(name=n, type="IP", config=config) for n in ("app-blue", "app-green")
        )
        self.lattice_listener = self.lattice.create_listener(
            serviceIdentifier=service["id"],
            name="http",
            protocol="HTTP",
            port=80,
            defaultAction={"fixedResponse": {"statusCode": 404}},
        )
        self.lattice_rule = self.lattice.create_rule(
            serviceIdentifier=service["id"],
            listenerIdentifier=self.lattice_listener["id"],
            name="all",
            priority=10,
            match={"httpMatch": {"pathMatch": {"match": {"prefix": "/"}}}},
            action=self.lattice_forward(100, 0),
        )
        self.lattice_service = service
        self.ecs.create_cluster(clusterName="apps")
        self.task_definitions = [
            self.ecs.register_task_definition(
                family="app", containerDefinitions=[{"name": "app", "image": f"app:{i}", "memory": 128}]
            )["taskDefinition"]["taskDefinitionArn"]
            for i in (1, 2, 3)
        ]
        iam = boto3.client("iam", region_name=REGION)
        trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        self.role = iam.create_role(RoleName="hooks", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        self.services, self.name = 0, ""

    def function(self, name: str, handler: Callable[[dict[str, Any]], Any]) -> str:
        self.handlers[name] = handler
        return str(
            self.awslambda.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=self.role,
                Handler="x.handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
            )["FunctionArn"]
        )

    def invoke(self, fn: LambdaFunction, body: Any, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        """LambdaFunction.invoke, as OfflineAccount patches it: the handler runs in-process."""
        event = json.loads(body) if body else {}
        self.invocations.append((fn.function_name, event))
        try:
            return json.dumps(self.handlers[fn.function_name](event)).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()

    # the production rules --------------------------------------------------------------------------
    def alb_forward(self, blue: int, green: int) -> dict[str, Any]:
        groups = [{"TargetGroupArn": self.blue, "Weight": blue}, {"TargetGroupArn": self.green, "Weight": green}]
        return {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}

    def lattice_forward(self, blue: int, green: int) -> dict[str, Any]:
        groups = [
            {"targetGroupIdentifier": self.lattice_blue["id"], "weight": blue},
            {"targetGroupIdentifier": self.lattice_green["arn"], "weight": green},
        ]
        return {"forward": {"targetGroups": groups}}

    def alb_actions(self) -> list[dict[str, Any]]:
        return list(self.elb.describe_rules(RuleArns=[self.rule])["Rules"][0]["Actions"])

    def alb_weights(self) -> tuple[int, int]:
        groups = {g["TargetGroupArn"]: g["Weight"] for g in self.alb_actions()[0]["ForwardConfig"]["TargetGroups"]}
        return groups[self.blue], groups[self.green]

    def lattice_action(self) -> dict[str, Any]:
        return dict(
            self.lattice.get_rule(
                serviceIdentifier=self.lattice_service["id"],
                listenerIdentifier=self.lattice_listener["id"],
                ruleIdentifier=self.lattice_rule["id"],
            )["action"]
        )

    # the service and its deployments -----------------------------------------------------------------
    def create_service(self, configuration: dict[str, Any], lattice: bool = False, name: str | None = None) -> None:
        extra: dict[str, Any]
        if lattice:
            advanced = {"alternateTargetGroupArn": self.lattice_green["arn"], "productionListenerRule": self.lattice_rule["arn"]}
            extra = {
                "vpcLatticeConfigurations": [
                    {
                        "roleArn": self.role,
                        "targetGroupArn": self.lattice_blue["arn"],
                        "portName": "http",
                        "advancedConfiguration": advanced,
                    }
                ]
            }
        else:
            advanced = {"alternateTargetGroupArn": self.green, "productionListenerRule": self.rule, "roleArn": self.role}
            extra = {
                "loadBalancers": [
                    {"targetGroupArn": self.blue, "containerName": "app", "containerPort": 80, "advancedConfiguration": advanced}
                ]
            }
        self.ecs.create_service(
            cluster="apps",
            serviceName=name or self.name,
            taskDefinition=self.task_definitions[0],
            desiredCount=2,
            deploymentController={"type": "ECS"},
            deploymentConfiguration=configuration,
            **extra,
        )

    def deploy(self, revision: int) -> str:
        """UpdateService to app:<revision>; the ARN of the service deployment it started."""
        self.ecs.update_service(cluster="apps", service=self.name, taskDefinition=self.task_definitions[revision - 1])
        listed = self.ecs.list_service_deployments(cluster="apps", service=self.name)["serviceDeployments"]
        return str(listed[0]["serviceDeploymentArn"])

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0])

    def pause(self, arn: str, seen: set[str]) -> dict[str, Any]:
        """Wait for a PAUSE hook AWAITING_ACTION not seen before; the deployment as described then."""

        def paused() -> dict[str, Any] | None:
            described = self.describe(arn)
            assert described["status"] in ("PENDING", "IN_PROGRESS"), described.get("statusReason")
            waiting = [h for h in described.get("lifecycleHookDetails", []) if h["status"] == "AWAITING_ACTION"]
            return described if any(h["hookId"] not in seen for h in waiting) else None

        described = wait_for(f"new pause of {arn}", paused, DEADLINE, every=0.005)
        (hook,) = [h for h in described["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION" and h["hookId"] not in seen]
        seen.add(hook["hookId"])
        described["hook"] = hook
        return described

    def ended(self, arn: str, status: str) -> dict[str, Any]:
        terminal = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
        described = wait_for(
            f"end of {arn}", lambda: (d := self.describe(arn))["status"] in terminal and d, DEADLINE, every=0.005
        )
        assert described["status"] == status, described.get("statusReason")
        return described

    def task_definition(self) -> str:
        return str(self.ecs.describe_services(cluster="apps", services=[self.name])["services"][0]["taskDefinition"])


@pytest.fixture(scope="module")
def account() -> Iterator[World]:
    """One emulated account for the module (building it takes seconds); each test deploys a service of its own."""
    emulator.install()
    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(key, "testing")
        with mock_aws():
            built = World()
            patch.setattr(LambdaFunction, "invoke", lambda fn, body, headers, response: built.invoke(fn, body, headers, response))
            yield built


@pytest.fixture
def world(account: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The account with its production rules back at blue 100 / green 0 and a new service name."""
    monkeypatch.setattr(ecs_deployments, "MINUTE_SECONDS", 0.002)  # a day of ECS time in about 3 s
    account.elb.modify_rule(RuleArn=account.rule, Actions=[account.alb_forward(100, 0)])
    account.lattice.update_rule(
        serviceIdentifier=account.lattice_service["id"],
        listenerIdentifier=account.lattice_listener["id"],
        ruleIdentifier=account.lattice_rule["id"],
        action=account.lattice_forward(100, 0),
    )
    account.services += 1
    account.name = f"app{account.services}"
    account.invocations.clear()
    yield account
    ecs_deployments.stop_all()
    assert emulated_events.wait_deliveries()


def linear(step: float, **extra: Any) -> dict[str, Any]:
    return {
        "strategy": "LINEAR",
        "linearConfiguration": {"stepPercent": step, "stepBakeTimeInMinutes": 1},
        "bakeTimeInMinutes": 1,
    } | extra


def test_the_steps_of_each_strategy() -> None:
    assert ecs_deployments.steps_of(linear(20.0)) == [20.0, 40.0, 60.0, 80.0, 100.0]
    assert ecs_deployments.steps_of(linear(30.0)) == [30.0, 60.0, 90.0, 100.0]
    assert ecs_deployments.steps_of({"strategy": "LINEAR"}) == [10.0 * k for k in range(1, 11)]
    assert ecs_deployments.steps_of({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0}}) == [10.0, 100.0]
    assert ecs_deployments.steps_of({"strategy": "CANARY"}) == [5.0, 100.0]
    assert ecs_deployments.steps_of({"strategy": "BLUE_GREEN"}) == [100.0]


def test_linear_on_an_alb_pauses_before_each_step_and_writes_the_weights(world: World) -> None:
    hooks = [PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]
    world.create_service(linear(20.0, lifecycleHooks=hooks))
    described = world.ecs.describe_services(cluster="apps", services=[world.name])["services"][0]
    assert described["deploymentConfiguration"]["lifecycleHooks"] == hooks and described["deploymentController"] == {
        "type": "ECS"
    }
    arn = world.deploy(2)
    assert arn.startswith(f"arn:aws:ecs:us-west-2:123456789012:service-deployment/apps/{world.name}/")
    seen: set[str] = set()
    for green in (0, 20, 40, 60, 80):  # the pause before each step sees the weights of the step before
        paused = world.pause(arn, seen)
        assert paused["lifecycleStage"] == "PRE_PRODUCTION_TRAFFIC_SHIFT"
        assert paused["hook"]["hookId"].startswith("ecs-pause-") and paused["hook"]["timeoutAction"] == "ROLLBACK"
        assert paused["targetServiceRevision"]["requestedProductionTrafficWeight"] == green
        forward = world.alb_forward(100 - green, green)
        forward["ForwardConfig"]["TargetGroupStickinessConfig"] = {"Enabled": False}  # as DescribeRules shows it
        assert world.alb_actions() == [forward]
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused["hook"]["hookId"], action="CONTINUE")
    done = world.ended(arn, "SUCCESSFUL")
    assert len(seen) == 5 and [h["status"] for h in done["lifecycleHookDetails"]] == ["SUCCEEDED"] * 5
    assert world.alb_weights() == (0, 100)
    assert world.task_definition() == world.task_definitions[1]
    assert done["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert done["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 0.0
    (brief,) = world.ecs.list_service_deployments(cluster="apps", service=world.name, status=["SUCCESSFUL"])["serviceDeployments"]
    assert brief["serviceDeploymentArn"] == arn and brief["targetServiceRevisionArn"] == done["targetServiceRevision"]["arn"]
    # an answered hook cannot be answered again
    with pytest.raises(ClientError) as caught:
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused["hook"]["hookId"])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"


def test_canary_then_blue_green_swaps_the_groups_from_one_deployment_to_the_next(world: World) -> None:
    hooks = [PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]}]
    canary = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}
    world.create_service(canary | {"bakeTimeInMinutes": 1, "lifecycleHooks": hooks})
    arn = world.deploy(2)
    seen: set[str] = set()
    observed = []
    for _ in range(3):  # before the canary, before 100 %, after 100 %
        paused = world.pause(arn, seen)
        observed.append((paused["lifecycleStage"], world.alb_weights()))
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused["hook"]["hookId"])
    assert observed == [
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", (100, 0)),
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", (90, 10)),
        ("POST_PRODUCTION_TRAFFIC_SHIFT", (0, 100)),
    ]
    world.ended(arn, "SUCCESSFUL")
    # BLUE_GREEN: green is now the group that carries no production traffic, the service's own targetGroupArn
    world.ecs.update_service(
        cluster="apps",
        service=world.name,
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": hooks},
    )
    arn = world.deploy(3)
    seen, observed = set(), []
    for _ in range(2):
        paused = world.pause(arn, seen)
        observed.append((paused["lifecycleStage"], world.alb_weights()))
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused["hook"]["hookId"])
    assert observed == [("PRE_PRODUCTION_TRAFFIC_SHIFT", (0, 100)), ("POST_PRODUCTION_TRAFFIC_SHIFT", (100, 0))]
    world.ended(arn, "SUCCESSFUL")
    assert world.task_definition() == world.task_definitions[2]


def test_linear_on_vpc_lattice_writes_the_rule_as_update_rule_does(world: World) -> None:
    world.create_service(
        linear(50.0, lifecycleHooks=[PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]), lattice=True
    )
    arn = world.deploy(2)
    seen: set[str] = set()
    for green in (0, 50):
        paused = world.pause(arn, seen)
        assert world.lattice_action() == world.lattice_forward(100 - green, green)
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused["hook"]["hookId"])
    world.ended(arn, "SUCCESSFUL")
    assert world.lattice_action() == world.lattice_forward(0, 100)


def test_rollback_at_a_pause_puts_the_weights_and_the_task_definition_back(world: World) -> None:
    world.create_service(linear(20.0, lifecycleHooks=[PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]))
    arn = world.deploy(2)
    seen: set[str] = set()
    world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=world.pause(arn, seen)["hook"]["hookId"])
    paused = world.pause(arn, seen)
    assert world.alb_weights() == (80, 20)
    world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused["hook"]["hookId"], action="ROLLBACK")
    done = world.ended(arn, "ROLLBACK_SUCCESSFUL")
    assert world.alb_weights() == (100, 0) and world.task_definition() == world.task_definitions[0]
    assert done["rollback"]["serviceRevisionArn"] == done["sourceServiceRevisions"][0]["arn"]
    assert paused["hook"]["hookId"] in done["rollback"]["reason"]
    assert done["lifecycleHookDetails"][-1]["status"] == "FAILED"


def test_stop_service_deployment_rolls_back_and_then_conflicts(world: World) -> None:
    world.create_service(linear(20.0, lifecycleHooks=[PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]))
    arn = world.deploy(2)
    seen: set[str] = set()
    world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=world.pause(arn, seen)["hook"]["hookId"])
    world.pause(arn, seen)
    world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    done = world.ended(arn, "ROLLBACK_SUCCESSFUL")
    assert "StopServiceDeployment" in done["statusReason"] and world.alb_weights() == (100, 0)
    for call, params, code in (
        (world.ecs.stop_service_deployment, {"serviceDeploymentArn": arn}, "ConflictException"),
        (
            world.ecs.continue_service_deployment,
            {"serviceDeploymentArn": arn + "x", "hookId": "h"},
            "ServiceDeploymentNotFoundException",
        ),
        (
            world.ecs.continue_service_deployment,
            {"serviceDeploymentArn": arn, "hookId": "ecs-pause-unknown"},
            "InvalidParameterException",
        ),
    ):
        with pytest.raises(ClientError) as caught:
            call(**params)
        assert caught.value.response["Error"]["Code"] == code
    assert world.ecs.describe_service_deployments(serviceDeploymentArns=[arn + "x"])["failures"] == [
        {"arn": arn + "x", "reason": "MISSING"}
    ]


def test_a_pause_nobody_answers_times_out_and_rolls_back(world: World) -> None:
    timing_out = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"], "timeoutConfiguration": {"timeoutInMinutes": 5}}
    world.create_service(linear(50.0, lifecycleHooks=[timing_out]))
    arn = world.deploy(2)
    done = world.ended(arn, "ROLLBACK_SUCCESSFUL")
    (hook,) = done["lifecycleHookDetails"]
    assert hook["status"] == "TIMED_OUT" and hook["timeoutAction"] == "ROLLBACK" and "timed out" in done["statusReason"]
    assert world.task_definition() == world.task_definitions[0] and world.alb_weights() == (100, 0)


def test_an_alarm_in_alarm_rolls_the_deployment_back(world: World) -> None:
    world.cloudwatch.put_metric_alarm(
        AlarmName="app-5xx",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarms = {"alarmNames": ["app-5xx"], "enable": True, "rollback": True}
    world.create_service(
        linear(20.0, alarms=alarms, lifecycleHooks=[PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}])
    )
    arn = world.deploy(2)
    seen: set[str] = set()
    world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=world.pause(arn, seen)["hook"]["hookId"])
    assert world.pause(arn, seen)["alarms"]["status"] == "MONITORING"
    world.cloudwatch.set_alarm_state(AlarmName="app-5xx", StateValue="ALARM", StateReason="5xx")
    done = world.ended(arn, "ROLLBACK_SUCCESSFUL")
    assert "app-5xx" in done["statusReason"] and done["alarms"]["triggeredAlarmNames"] == ["app-5xx"]
    assert done["alarms"]["status"] == "TRIGGERED" and world.alb_weights() == (100, 0)


def test_a_lambda_hook_in_progress_is_invoked_again_with_its_hook_details(world: World) -> None:
    answers = iter([{"hookStatus": "IN_PROGRESS", "callBackDelay": 5, "hookDetails": {"checks": 1}}, {"hookStatus": "SUCCEEDED"}])
    function = world.function("check", lambda event: next(answers))
    hook = {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": function,
        "roleArn": world.role,
        "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"],
    }
    world.create_service(
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [hook | {"hookDetails": {"team": "a"}}]}
    )
    arn = world.deploy(2)
    done = world.ended(arn, "SUCCESSFUL")
    first, second = (event for name, event in world.invocations if name == "check")
    target, source = done["targetServiceRevision"]["arn"], done["sourceServiceRevisions"][0]["arn"]
    assert first == {
        "executionId": first["executionId"],
        "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
        "resourceArn": arn,
        "executionDetails": {
            "serviceArn": done["serviceArn"],
            "targetServiceRevisionArn": target,
            "testTrafficWeights": {},
            "productionTrafficWeights": {target: 100, source: 0},
        },
        "hookDetails": {"team": "a"},
    }
    assert second["hookDetails"] == {"team": "a", "checks": 1} and second["executionId"] == first["executionId"]
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["SUCCEEDED"]


def test_a_failing_lambda_hook_rolls_back_and_the_traffic_hook_runs_again(world: World) -> None:
    traffic = world.function("traffic", lambda event: {"hookStatus": "SUCCEEDED"})
    failing = world.function("failing", lambda event: 1 / 0)
    hooks = [
        {"targetType": "AWS_LAMBDA", "hookTargetArn": traffic, "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]},
        {"targetType": "AWS_LAMBDA", "hookTargetArn": failing, "lifecycleStages": ["POST_PRODUCTION_TRAFFIC_SHIFT"]},
    ]
    world.create_service({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": hooks})
    arn = world.deploy(2)
    done = world.ended(arn, "ROLLBACK_SUCCESSFUL")
    assert "ZeroDivisionError" in done["statusReason"] and world.alb_weights() == (100, 0)
    target = done["targetServiceRevision"]["arn"]
    weights = [
        event["executionDetails"]["productionTrafficWeights"][target] for name, event in world.invocations if name == "traffic"
    ]
    assert weights == [100, 0]  # forward, then on rollback (DG lambda-lifecycle-hooks.html)


def test_pause_hooks_are_refused_where_ecs_refuses_them(world: World) -> None:
    world.create_service(linear(20.0))
    for stage in ("PRODUCTION_TRAFFIC_SHIFT", "TEST_TRAFFIC_SHIFT"):
        with pytest.raises(ClientError) as caught:
            world.ecs.update_service(
                cluster="apps",
                service=world.name,
                deploymentConfiguration=linear(20.0, lifecycleHooks=[PAUSE | {"lifecycleStages": [stage]}]),
            )
        assert caught.value.response["Error"]["Code"] == "InvalidParameterException" and stage in str(caught.value)
        with pytest.raises(ClientError):
            world.create_service(linear(20.0, lifecycleHooks=[PAUSE | {"lifecycleStages": [stage]}]), name=f"other-{stage}")


def test_a_new_deployment_stops_the_running_one(world: World) -> None:
    world.create_service(linear(20.0, lifecycleHooks=[PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]))
    first = world.deploy(2)
    seen: set[str] = set()
    world.pause(first, seen)
    second = world.deploy(3)
    stopped = world.ended(first, "STOPPED")
    assert second in stopped["statusReason"] and second != first
    paused = world.pause(second, seen)
    assert paused["status"] == "IN_PROGRESS"
    assert [
        d["serviceDeploymentArn"]
        for d in world.ecs.list_service_deployments(service=world.name, cluster="apps")["serviceDeployments"]
    ] == [
        second,
        first,
    ]


def test_the_hook_awaiting_action_event_reaches_a_lambda_target(world: World) -> None:
    received: list[dict[str, Any]] = []
    target = world.function("on-hook", lambda event: received.append(event))
    pattern = {"source": ["aws.ecs"], "detail-type": ["ECS Hook State Change"], "detail": {"eventName": ["HOOK_AWAITING_ACTION"]}}
    world.events.put_rule(Name="hooks", EventPattern=json.dumps(pattern))
    world.events.put_targets(Rule="hooks", Targets=[{"Id": "fn", "Arn": target}])
    world.create_service(linear(50.0, lifecycleHooks=[PAUSE | {"lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]))
    arn = world.deploy(2)
    seen: set[str] = set()
    paused = world.pause(arn, seen)
    wait_for("event at the function", lambda: received, DEADLINE, every=0.005)
    (event,) = received
    assert event["source"] == "aws.ecs" and event["detail-type"] == "ECS Hook State Change" and event["resources"] == [arn]
    detail = event["detail"]
    assert {k: detail[k] for k in ("eventType", "eventName", "hookId", "hookType", "lifecycleStage", "serviceDeploymentArn")} == {
        "eventType": "INFO",
        "eventName": "HOOK_AWAITING_ACTION",
        "hookId": paused["hook"]["hookId"],
        "hookType": "PAUSE",
        "lifecycleStage": "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "serviceDeploymentArn": arn,
    }
    assert detail["serviceArn"].endswith(f":service/apps/{world.name}") and detail["clusterArn"].endswith(":cluster/apps")
    assert detail["expiresAt"].endswith("Z") and detail["updatedAt"].endswith("Z")
    world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    world.ended(arn, "ROLLBACK_SUCCESSFUL")
    assert emulated_events.wait_deliveries()
    world.events.remove_targets(Rule="hooks", Ids=["fn"])
    world.events.delete_rule(Name="hooks")


def test_a_rolling_service_keeps_its_old_deployments(world: World) -> None:
    world.create_service({"strategy": "ROLLING", "maximumPercent": 200})
    world.ecs.update_service(cluster="apps", service=world.name, taskDefinition=world.task_definitions[1])
    assert world.ecs.list_service_deployments(cluster="apps", service=world.name)["serviceDeployments"] == []
    (deployment, *_) = world.ecs.describe_services(cluster="apps", services=[world.name])["services"][0]["deployments"]
    assert deployment["rolloutState"] == "IN_PROGRESS"
