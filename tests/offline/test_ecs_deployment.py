"""EcsDeploymentStateMachine end to end, offline (issue 22, item 5): ECS's own LINEAR deployment of checkout:2 on ALB
and on VPC Lattice, gated at every pause by our judge and approval; rollbacks put the production rule back."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT, load_json, wait_for
from tests.support import approve, handle, status_change_event

SM = "EcsDeploymentStateMachine"
WORLDS = ("alb", "lattice")


def build(kind: str) -> OfflineAccount:
    account = OfflineAccount(ROOT / "template.yaml", replay_given_runs=True)
    account.__enter__()
    account.apply_given(load_json(EVENTS / "local" / f"ecs-deployment-{kind}-given.json"), EVENTS / "local")
    return account


@pytest.fixture(params=WORLDS)
def world(request: pytest.FixtureRequest) -> Iterator[tuple[str, OfflineAccount]]:
    """checkout on checkout:1 behind the world's production rule (blue 100 / green 0), LINEAR 20 % steps."""
    account = build(request.param)
    try:
        yield request.param, account
    finally:
        account.__exit__(None, None, None)


@pytest.fixture
def alb() -> Iterator[OfflineAccount]:
    account = build("alb")
    try:
        yield account
    finally:
        account.__exit__(None, None, None)


def deployment_input(kind: str = "alb", **changes: Any) -> dict[str, Any]:
    return {**load_json(EVENTS / f"ecs-deployment-{kind}.json"), **changes}  # type: ignore[no-any-return]


def service(account: OfflineAccount) -> dict[str, Any]:
    return account.client("ecs").describe_services(cluster="apps", services=["checkout"])["services"][0]  # type: ignore[no-any-return]


def revision(account: OfflineAccount) -> str:
    return str(service(account)["taskDefinition"].rsplit("/", 1)[-1])


def production_rule(account: OfflineAccount, kind: str) -> dict[str, Any]:
    """The production listener rule as its API returns it (ALB DescribeRules, Lattice GetRule)."""
    saved = account.saved
    if kind == "alb":
        (rule,) = account.client("elbv2").describe_rules(RuleArns=[saved["rule"]["Rules"][0]["RuleArn"]])["Rules"]
        return rule  # type: ignore[no-any-return]
    found = account.client("vpc-lattice").get_rule(
        serviceIdentifier=saved["checkout"]["id"], listenerIdentifier=saved["listener"]["id"], ruleIdentifier=saved["rule"]["id"]
    )
    return {k: v for k, v in found.items() if k not in ("ResponseMetadata", "lastUpdatedAt")}


def rule_weights(account: OfflineAccount, kind: str) -> dict[str, int]:
    """{"checkout-blue": w, "checkout-green": w} on the production rule."""
    rule = production_rule(account, kind)
    if kind == "alb":
        groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
        return {g["TargetGroupArn"].split("/")[-2]: g["Weight"] for g in groups}
    names = {g["id"]: g["name"] for g in account.client("vpc-lattice").list_target_groups()["items"]}
    return {names[g["targetGroupIdentifier"]]: g["weight"] for g in rule["action"]["forward"]["targetGroups"]}


def lock_items(account: OfflineAccount) -> list[Any]:
    table = account.environment("StartEcsDeploymentFunction")["ROUTE_LOCK_TABLE"]
    items = account.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["lockId"]["S"].startswith("ecs:")]


def deployments(account: OfflineAccount) -> list[dict[str, Any]]:
    ecs = account.client("ecs")
    briefs = ecs.list_service_deployments(cluster="apps", service="checkout")["serviceDeployments"]
    return ecs.describe_service_deployments(serviceDeploymentArns=[b["serviceDeploymentArn"] for b in briefs])[
        "serviceDeployments"
    ]  # type: ignore[no-any-return]


def green_errors_tenfold(account: OfflineAccount, kind: str = "alb") -> None:
    """Ten times the world's 5xx for the green group, over the same 15 minutes (per-minute data)."""
    saved, now = account.saved, account.now().replace(second=0, microsecond=0)
    if kind == "alb":
        namespace, metric = "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"
        dimensions = [
            {"Name": "TargetGroup", "Value": saved["checkoutgreen"]["TargetGroups"][0]["TargetGroupArn"].split(":")[-1]},
            {"Name": "LoadBalancer", "Value": saved["alb"]["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/")[-1]},
        ]
    else:
        namespace, metric = "AWS/VpcLattice", "HTTPCode_5XX_Count"
        dimensions = [{"Name": "TargetGroup", "Value": saved["checkoutgreen"]["id"]}]
    data = [
        {
            "MetricName": metric,
            "Dimensions": dimensions,
            "Value": 10.0,
            "Unit": "Count",
            "Timestamp": now - dt.timedelta(minutes=minute),
        }
        for minute in range(1, 16)
    ]
    account.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data)


@pytest.mark.parametrize("world", WORLDS, indirect=True)
def test_linear_deployment_succeeds_judged_at_every_pause_and_keeps_the_users_settings(
    world: tuple[str, OfflineAccount],
) -> None:
    kind, account = world
    before = service(account)["deploymentConfiguration"]
    rule_before = production_rule(account, kind)
    asked: list[str] = []

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        asked.append(pending.token)
        return True, "numbers fine"

    result = account.run(SM, deployment_input(kind), approver=approver)

    assert result.status == "SUCCEEDED", result.cause
    assert len(asked) == 1
    assert rule_weights(account, kind) == {"checkout-blue": 0, "checkout-green": 100}
    assert revision(account) == "checkout:2"
    output = result.output
    assert output["outcome"] == "SUCCEEDED" and output["strategy"] == "LINEAR"
    steps = output["steps"]
    assert [s["percent"] for s in steps] == [0, 20, 40, 60, 80, 100]
    assert all(s["action"] == "CONTINUE" and s["verdict"].startswith("HEALTHY") and s["weights"] for s in steps)
    approval, outcome = account.notifications()
    assert "approve ECS apps/checkout to 100 %" in approval["subject"] and "A weight shift" not in approval["message"]
    assert "succeeded" in outcome["subject"]
    assert lock_items(account) == []
    # the user's hooks, alarms, circuit breaker and the rest kept; our PAUSE hook added (and left for item 2)
    after = service(account)["deploymentConfiguration"]
    ours = [h for h in after.get("lifecycleHooks", []) if h.get("targetType") == "PAUSE"]
    assert len(ours) == 1
    assert {k: v for k, v in after.items() if k != "lifecycleHooks"} == {k: v for k, v in before.items() if k != "lifecycleHooks"}
    assert [h for h in after.get("lifecycleHooks", []) if h.get("targetType") != "PAUSE"] == before.get("lifecycleHooks", [])
    rule_after = production_rule(account, kind)
    if kind == "alb":
        assert {k: v for k, v in rule_after.items() if k != "Actions"} == {k: v for k, v in rule_before.items() if k != "Actions"}


@pytest.mark.parametrize("world", WORLDS, indirect=True)
def test_judge_failing_at_a_middle_step_rolls_back_to_the_rule_and_revision_before(world: tuple[str, OfflineAccount]) -> None:
    kind, account = world
    rule_before = production_rule(account, kind)
    green_errors_tenfold(account, kind)
    result = account.run(SM, deployment_input(kind), approver=approve)
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy"), result.cause
    assert (result.cause or "").startswith("step 20 % (PRE_PRODUCTION_TRAFFIC_SHIFT): UNHEALTHY"), result.cause
    assert "ECS rolled back: ContinueServiceDeployment rolled back" in (result.cause or "")
    assert production_rule(account, kind) == rule_before
    assert rule_weights(account, kind) == {"checkout-blue": 100, "checkout-green": 0}
    assert revision(account) == "checkout:1"
    assert lock_items(account) == []
    assert account.notifications()[-1]["subject"].endswith("CanaryUnhealthy")


@pytest.mark.parametrize(
    ("world", "configuration", "judged"),
    [
        (kind, configuration, judged)
        for kind in WORLDS
        for configuration, judged in (
            ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 15}}, [0, 10, 100]),
            ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}, [0, 100]),
        )
    ],
    indirect=["world"],
    ids=["alb-canary", "alb-blue-green", "lattice-canary", "lattice-blue-green"],
)
def test_canary_and_blue_green_succeed_judged_at_each_pause(
    world: tuple[str, OfflineAccount], configuration: dict[str, Any], judged: list[int]
) -> None:
    kind, account = world
    result = account.run(
        SM, deployment_input(kind, deploymentConfiguration=configuration, approval={"beforeSteps": [100]}), approver=approve
    )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["strategy"] == configuration["strategy"]
    assert [s["percent"] for s in result.output["steps"]] == judged
    assert rule_weights(account, kind) == {"checkout-blue": 0, "checkout-green": 100}
    assert revision(account) == "checkout:2"
    assert service(account)["deploymentConfiguration"]["strategy"] == configuration["strategy"]
    assert lock_items(account) == []


@pytest.mark.parametrize(
    ("answer", "approval", "error"),
    [
        (lambda pending: (False, "p99 too high"), {"beforeSteps": [100], "timeoutSeconds": 86400}, "ApprovalRejected"),
        (lambda pending: None, {"beforeSteps": [100], "timeoutSeconds": 1}, "ApprovalTimedOut"),
    ],
    ids=["rejected", "timed-out"],
)
def test_no_approval_rolls_back(alb: OfflineAccount, answer: Any, approval: dict[str, Any], error: str) -> None:
    """The approval's timeout is in real seconds, ECS's pause timeout in the emulator's scaled minutes: the longest
    pause timeout ECS takes (14 days, 17 minutes here) keeps ECS from timing out first."""
    rule_before = production_rule(alb, "alb")
    result = alb.run(SM, deployment_input(approval=approval, hookTimeoutMinutes=20160), approver=answer)
    assert (result.status, result.error) == ("FAILED", error), result.cause
    assert "RollBack" in result.states
    assert production_rule(alb, "alb") == rule_before
    assert revision(alb) == "checkout:1"
    assert lock_items(alb) == []


def test_refused_input_changes_nothing(alb: OfflineAccount) -> None:
    refused = alb.run(
        SM, deployment_input(deploymentConfiguration={"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.5}})
    )
    assert (refused.status, refused.error) == ("FAILED", "InvalidRolloutInput")
    assert "deploymentConfiguration.linearConfiguration.stepPercent" in (refused.cause or "")
    assert refused.mutating_calls() == {}


def test_our_execution_stopped_at_a_pause_is_rolled_back_by_the_clean_up(
    alb: OfflineAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = alb.client("stepfunctions")

    def stop_at_second_pause(event: dict[str, Any]) -> None:
        if event["ecs"]["pause"]["percent"] == 20:
            sfn.stop_execution(executionArn=event["executionArn"], error="Test", cause="stopped at a pause")

    alb.intercept("EcsStepCheckFunction", stop_at_second_pause)
    stopped = alb.run(SM, deployment_input(), approver=approve)
    assert stopped.status == "ABORTED"
    assert lock_items(alb) != []
    handle(alb, status_change_event(stopped.execution_arn, alb.state_machine_arns[SM], "ABORTED"), monkeypatch)
    assert lock_items(alb) == []
    # the clean-up answered our pause ROLLBACK; ECS rolls back on its own time (the emulator's engine thread, as ECS
    # does): until it starts, the deployment still reads IN_PROGRESS with the hook FAILED
    (deployment,) = wait_for("ECS's rollback", lambda: [d for d in deployments(alb) if d["status"] != "IN_PROGRESS"])
    assert deployment["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"), json.dumps(
        deployment, default=str
    )


def test_our_execution_stopped_at_its_approval_is_rolled_back_at_the_pause(
    alb: OfflineAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn, rule_before = alb.client("stepfunctions"), production_rule(alb, "alb")

    def stop_instead_of_answering(pending: PendingApproval) -> None:
        (running,) = sfn.list_executions(stateMachineArn=alb.state_machine_arns[SM], statusFilter="RUNNING")["executions"]
        sfn.stop_execution(executionArn=running["executionArn"], error="Test", cause="stopped at the approval")

    stopped = alb.run(SM, deployment_input(), approver=stop_instead_of_answering)
    assert stopped.status == "ABORTED"
    handle(alb, status_change_event(stopped.execution_arn, alb.state_machine_arns[SM], "ABORTED"), monkeypatch)
    assert lock_items(alb) == []
    (deployment,) = wait_for(
        "rollback", lambda: [d for d in deployments(alb) if d["status"] in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")]
    )
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    assert [h["status"] for h in deployment["lifecycleHookDetails"] if h["targetType"] == "PAUSE"][-1] == "FAILED"
    assert production_rule(alb, "alb") == rule_before
    assert revision(alb) == "checkout:1"


def test_the_users_own_pause_hook_is_kept_and_answered_with_ours(alb: OfflineAccount) -> None:
    """The user's PAUSE hook at PRE_PRODUCTION_TRAFFIC_SHIFT (one of our stages) stays byte for byte; ours is added
    for the POST stage it lacks, and every pause at our stages is answered by us."""
    users = {
        "targetType": "PAUSE",
        "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 600, "action": "ROLLBACK"},
    }
    alb.client("ecs").update_service(cluster="apps", service="checkout", deploymentConfiguration=with_pause(alb, users))
    before = service(alb)["deploymentConfiguration"]
    result = alb.run(SM, deployment_input(), approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    after = service(alb)["deploymentConfiguration"]
    assert after["lifecycleHooks"][: len(before["lifecycleHooks"])] == before["lifecycleHooks"]
    assert len(after["lifecycleHooks"]) == len(before["lifecycleHooks"]) + 1
    assert {k: v for k, v in after.items() if k != "lifecycleHooks"} == {k: v for k, v in before.items() if k != "lifecycleHooks"}
    assert rule_weights(alb, "alb") == {"checkout-blue": 0, "checkout-green": 100}


def test_a_deployment_someone_else_starts_meanwhile_is_left_alone_and_reported(alb: OfflineAccount) -> None:
    ecs, started = alb.client("ecs"), list[Any]()

    def deploy_elsewhere_at_20(event: dict[str, Any]) -> None:
        if event["ecs"]["pause"]["percent"] == 20 and not started:
            started.append(
                ecs.update_service(cluster="apps", service="checkout", taskDefinition="checkout:1", forceNewDeployment=True)
            )

    alb.intercept("EcsStepCheckFunction", deploy_elsewhere_at_20)
    result = alb.run(SM, deployment_input(), approver=approve)
    assert (result.status, result.error) == ("FAILED", "DeploymentSuperseded"), result.cause
    ours, newer = sorted(deployments(alb), key=lambda d: d["createdAt"])
    assert ours["status"] == "STOPPED"
    assert newer["status"] == "IN_PROGRESS"  # never rolled back by us
    assert newer["serviceDeploymentArn"] in (result.cause or ""), result.cause
    assert lock_items(alb) == []


def test_an_alarm_ecs_acts_on_is_reported_as_ecs_rollback(alb: OfflineAccount) -> None:
    """The service's own deployment alarm goes to ALARM as we are about to CONTINUE from the pause after 20 %: ECS
    rolls back by itself, at that pause or during the next step's bake, whichever it reaches first (no race:
    the alarm is in ALARM before ECS may go on, and ECS looks at its alarms at every wait)."""
    cloudwatch = alb.client("cloudwatch")

    def alarm_before_continuing_from_20(event: dict[str, Any]) -> None:
        if event["action"] == "CONTINUE" and (event["ecs"].get("pause") or {}).get("percent") == 20:
            cloudwatch.set_alarm_state(AlarmName="checkout-5xx", StateValue="ALARM", StateReason="test: 5xx")

    alb.intercept("EcsDecideFunction", alarm_before_continuing_from_20)
    result = alb.run(SM, deployment_input(), approver=approve)
    assert (result.status, result.error) == ("FAILED", "EcsRolledBack"), result.cause
    (deployment,) = deployments(alb)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    assert deployment["statusReason"] and deployment["statusReason"] in (result.cause or "")
    assert rule_weights(alb, "alb") == {"checkout-blue": 100, "checkout-green": 0}
    assert revision(alb) == "checkout:1"
    assert lock_items(alb) == []


# --- deployments started elsewhere (item 2), nobody answering, a service already deploying -------------------------

OUR_PAUSE = {
    "targetType": "PAUSE",
    "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
    "timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"},
}


def with_pause(account: OfflineAccount, pause: dict[str, Any] = OUR_PAUSE) -> dict[str, Any]:
    """The service's own deploymentConfiguration with `pause` appended to its lifecycle hooks."""
    configuration = copy.deepcopy(service(account)["deploymentConfiguration"])
    configuration["lifecycleHooks"] = [*configuration.get("lifecycleHooks", []), pause]
    return configuration  # type: ignore[no-any-return]


def awaiting_pause(account: OfflineAccount) -> dict[str, Any] | None:
    """The running deployment and its PAUSE hook AWAITING_ACTION, merged ({**deployment, "hook": hook}), or None."""
    for deployment in deployments(account):
        for hook in deployment.get("lifecycleHookDetails", []):
            if hook.get("targetType") == "PAUSE" and hook.get("status") == "AWAITING_ACTION":
                return {**deployment, "hook": hook}
    return None


def hook_awaiting_action_event(account: OfflineAccount, paused: dict[str, Any]) -> dict[str, Any]:
    """EventBridge's "ECS Hook State Change" event for the pause, in its documented shape
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_hook_state_change_events.html)."""
    hook = paused["hook"]
    detail = {
        "eventType": "INFO",
        "eventName": "HOOK_AWAITING_ACTION",
        "hookId": hook["hookId"],
        "hookType": "PAUSE",
        "lifecycleStage": paused["lifecycleStage"],
        "clusterArn": paused["clusterArn"],
        "serviceArn": paused["serviceArn"],
        "serviceDeploymentArn": paused["serviceDeploymentArn"],
        "updatedAt": account.now().isoformat(),
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Hook State Change",
        "source": "aws.ecs",
        "account": paused["serviceArn"].split(":")[4],
        "time": account.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": paused["serviceArn"].split(":")[3],
        "resources": [paused["serviceDeploymentArn"]],
        "detail": detail,
    }


def invoke(account: OfflineAccount, function: str, event: dict[str, Any]) -> Any:
    """Invoke a deployed function through Lambda, as EventBridge would (synchronously here)."""
    response = account.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def test_a_deployment_started_by_another_tool_is_gated_once_by_the_hook_event(alb: OfflineAccount) -> None:
    ecs, sfn = alb.client("ecs"), alb.client("stepfunctions")
    ecs.update_service(cluster="apps", service="checkout", deploymentConfiguration=with_pause(alb))
    assert deployments(alb) == []  # no new task definition: ECS starts no deployment for a configuration change
    ecs.update_service(cluster="apps", service="checkout", taskDefinition="checkout:2")  # another tool deploys
    paused = wait_for("pause AWAITING_ACTION", lambda: awaiting_pause(alb))
    deployment_id = paused["serviceDeploymentArn"].rsplit("/", 1)[-1]
    event = hook_awaiting_action_event(alb, paused)

    first = invoke(alb, "EcsHookEventFunction", event)
    assert first["started"] and first["started"].endswith(f":gate-{deployment_id}"), first
    again = invoke(alb, "EcsHookEventFunction", event)
    # StartExecution with a running execution's name and input returns that execution (AWS's idempotency,
    # https://docs.aws.amazon.com/step-functions/latest/apis/API_StartExecution.html); once it has ended (or with
    # another input) the name is refused with ExecutionAlreadyExists, "already started". Either way: no new one.
    assert again["started"] == first["started"], again
    executions = sfn.list_executions(stateMachineArn=alb.state_machine_arns[SM])["executions"]
    assert [e["executionArn"] for e in executions] == [first["started"]]

    ended = wait_for(
        "gate execution's end",
        lambda: (d := sfn.describe_execution(executionArn=first["started"]))["status"] != "RUNNING" and d,
        seconds=120,
    )
    assert ended["status"] == "SUCCEEDED", (ended.get("error"), ended.get("cause"))
    output = json.loads(ended["output"])
    assert output["outcome"] == "SUCCEEDED" and output["serviceDeploymentArn"] == paused["serviceDeploymentArn"]
    assert rule_weights(alb, "alb") == {"checkout-blue": 0, "checkout-green": 100}
    assert revision(alb) == "checkout:2"
    assert lock_items(alb) == []


def test_a_pause_nobody_answers_times_out_and_ecs_rolls_back(alb: OfflineAccount) -> None:
    ecs, rule_before = alb.client("ecs"), production_rule(alb, "alb")
    short = {**OUR_PAUSE, "timeoutConfiguration": {"timeoutInMinutes": 1, "action": "ROLLBACK"}}
    ecs.update_service(
        cluster="apps", service="checkout", taskDefinition="checkout:2", deploymentConfiguration=with_pause(alb, short)
    )
    (deployment,) = wait_for(
        "rollback", lambda: [d for d in deployments(alb) if d["status"] in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")]
    )
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL", json.dumps(deployment, default=str)
    assert "timed out" in deployment["statusReason"]
    assert [h["status"] for h in deployment["lifecycleHookDetails"] if h["targetType"] == "PAUSE"][:1] == ["TIMED_OUT"]
    assert production_rule(alb, "alb") == rule_before
    assert rule_weights(alb, "alb") == {"checkout-blue": 100, "checkout-green": 0}
    assert revision(alb) == "checkout:1"


def test_a_service_already_deploying_is_refused_without_a_change(alb: OfflineAccount) -> None:
    alb.client("ecs").update_service(
        cluster="apps", service="checkout", taskDefinition="checkout:2", deploymentConfiguration=with_pause(alb)
    )
    running = wait_for("pause AWAITING_ACTION", lambda: awaiting_pause(alb))  # held IN_PROGRESS by the pause
    refused = alb.run(SM, deployment_input(), approver=approve)
    assert (refused.status, refused.error) == ("FAILED", "InvalidRolloutInput"), refused.cause
    assert '"errorMessage":"service: \'checkout\' is already deploying' in (refused.cause or ""), refused.cause
    assert running["serviceDeploymentArn"] in (refused.cause or "")
    assert refused.mutating_calls() == {}
    assert [d["status"] for d in deployments(alb)] == ["IN_PROGRESS"]
