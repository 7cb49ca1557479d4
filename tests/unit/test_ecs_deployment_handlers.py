"""The EcsDeploymentStateMachine's steps as plain functions, against botocore's Stubber (parameter validation on)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from mesh_rollout.deploying import decide, finish, hook_events, start, status
from mesh_rollout.deploying.cleanup import recover_unfinished_deployment
from mesh_rollout.errors import AwsRequestRejected, InvalidRolloutInput, LockLost, MeshResourceNotFound
from mesh_rollout.shifting.cleanup import handle_status_change
from mesh_rollout.shifting.weight_shift import request_approval

ACCOUNT = "123456789012"
SERVICE_ARN = f"arn:aws:ecs:us-west-2:{ACCOUNT}:service/apps/checkout"
CLUSTER_ARN = f"arn:aws:ecs:us-west-2:{ACCOUNT}:cluster/apps"
DEPLOYMENT = f"arn:aws:ecs:us-west-2:{ACCOUNT}:service-deployment/apps/checkout/AbC123"
NEWER = f"arn:aws:ecs:us-west-2:{ACCOUNT}:service-deployment/apps/checkout/ZzZ999"
REVISION = f"arn:aws:ecs:us-west-2:{ACCOUNT}:service-revision/apps/checkout/111"
TASK_DEFINITION = f"arn:aws:ecs:us-west-2:{ACCOUNT}:task-definition/checkout:8"
GREEN = f"arn:aws:elasticloadbalancing:us-west-2:{ACCOUNT}:targetgroup/checkout-green/aaa"
BLUE = f"arn:aws:elasticloadbalancing:us-west-2:{ACCOUNT}:targetgroup/checkout-blue/bbb"
ME = f"arn:aws:states:us-west-2:{ACCOUNT}:execution:EcsDeploymentStateMachine:run-1"
OTHER = f"arn:aws:states:us-west-2:{ACCOUNT}:execution:EcsDeploymentStateMachine:run-2"
MACHINE = f"arn:aws:states:us-west-2:{ACCOUNT}:stateMachine:EcsDeploymentStateMachine"
TABLE, TOPIC = "route-locks", f"arn:aws:sns:us-west-2:{ACCOUNT}:notices"
LOCK_ID = f"ecs:{SERVICE_ARN}"
T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
SESSION = botocore.session.get_session()  # one session: its loader reads each service model once


def make_plan(**changes: Any) -> dict[str, Any]:
    plan = {
        "cluster": "apps",
        "service": "checkout",
        "serviceArn": SERVICE_ARN,
        "lockId": LOCK_ID,
        "lockSeconds": 7200,
        "mode": "start",
        "serviceDeploymentArn": None,
        "taskDefinition": TASK_DEFINITION,
        "images": None,
        "deploymentConfiguration": {
            "strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 20.0, "stepBakeTimeInMinutes": 10},
            "bakeTimeInMinutes": 10,
            "lifecycleHooks": [
                {
                    "targetType": "PAUSE",
                    "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
                    "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"},
                }
            ],
        },
        "strategy": "LINEAR",
        "steps": [20, 40, 60, 80, 100],
        "backend": "alb",
        "productionRule": None,
        "canary": GREEN,
        "stable": BLUE,
        "healthGate": {"alarmNames": []},
        "preStepGate": {"alarmNames": []},
        "approvalSteps": [100],
        "approvalTimeoutSeconds": 86400,
        "settleSeconds": 30,
        "pollSeconds": 30,
        "maxPolls": 3,
        "hookTimeoutMinutes": 60,
        "bakeSeconds": {"step": 600, "final": 300},
    }
    return {**plan, **changes}


def deployment(status_: str = "IN_PROGRESS", stage: str = "SCALE_UP", weight: float = 0.0, hooks: Any = ()) -> dict[str, Any]:
    return {
        "serviceDeploymentArn": DEPLOYMENT,
        "serviceArn": SERVICE_ARN,
        "clusterArn": CLUSTER_ARN,
        "createdAt": T0,
        "startedAt": T0,
        "status": status_,
        "statusReason": f"ECS says {status_}",
        "lifecycleStage": stage,
        "targetServiceRevision": {"arn": REVISION, "requestedProductionTrafficWeight": weight},
        "lifecycleHookDetails": [
            {"hookId": hook_id, "targetType": "PAUSE", "status": hook_status} for hook_id, hook_status in hooks
        ],
        "alarms": {"status": "MONITORING", "alarmNames": ["checkout-5xx"]},
    }


def ecs_record(**changes: Any) -> dict[str, Any]:
    record = {
        "serviceDeploymentArn": DEPLOYMENT,
        "startedAt": int(T0.timestamp()),
        "continuedAt": int(T0.timestamp()),
        "polls": 0,
        "waitSeconds": 630,
        "state": "RUNNING",
        "steps": [],
    }
    return {**record, **changes}


def lock_item(owner: str = ME, arn: str | None = None, starting_ms: int | None = None) -> dict[str, Any]:
    item = {"lockId": {"S": LOCK_ID}, "owner": {"S": owner}, "acquiredAt": {"N": "1"}, "expiresAt": {"N": "99999999999"}}
    marked = {"startingAt": {"N": str(starting_ms)}} if starting_ms is not None else {}
    return {**item, **({"serviceDeploymentArn": {"S": arn}} if arn else {}), **marked}


def get_lock(
    owner: str | None = ME, arn: str | None = None, starting_ms: int | None = None
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    response = {"Item": lock_item(owner, arn, starting_ms)} if owner else {}
    return "get_item", response, {"TableName": TABLE, "Key": {"lockId": {"S": LOCK_ID}}, "ConsistentRead": True}


def record_lock(owner: str = ME, arn: str = DEPLOYMENT) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return set_on_lock("serviceDeploymentArn", {"S": arn}, owner)


def set_on_lock(attribute: str, value: Any, owner: str = ME) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """UpdateItem of one attribute of the lock item, only while `owner` holds it."""
    return (
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"lockId": {"S": LOCK_ID}},
            "UpdateExpression": f"SET {attribute} = :value",
            "ConditionExpression": "#owner = :me",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":value": value, ":me": {"S": owner}},
        },
    )


def describe(found: dict[str, Any] | None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    response = (
        {"serviceDeployments": [found]}
        if found
        else {"serviceDeployments": [], "failures": [{"arn": DEPLOYMENT, "reason": "MISSING"}]}
    )
    return "describe_service_deployments", response, {"serviceDeploymentArns": [DEPLOYMENT]}


def answer_hook(hook_id: str, action: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return (
        "continue_service_deployment",
        {"serviceDeploymentArn": DEPLOYMENT},
        {"serviceDeploymentArn": DEPLOYMENT, "hookId": hook_id, "action": action},
    )


def stop_rollback() -> tuple[str, dict[str, Any], dict[str, Any]]:
    return (
        "stop_service_deployment",
        {"serviceDeploymentArn": DEPLOYMENT},
        {"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"},
    )


def listed(briefs: list[dict[str, Any]], **params: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "list_service_deployments", {"serviceDeployments": briefs}, {"cluster": "apps", "service": "checkout", **params}


def brief(arn: str = DEPLOYMENT, revision: str = REVISION) -> dict[str, Any]:
    return {"serviceDeploymentArn": arn, "targetServiceRevisionArn": revision, "status": "IN_PROGRESS", "startedAt": T0}


def revisions(task_definition: str = TASK_DEFINITION) -> tuple[str, dict[str, Any], dict[str, Any]]:
    found = {"serviceRevisions": [{"serviceRevisionArn": REVISION, "taskDefinition": task_definition}]}
    return "describe_service_revisions", found, {"serviceRevisionArns": [REVISION]}


def error(operation: str, code: str, message: str = "m") -> tuple[str, str, str]:
    return operation, code, message


class Clients:
    """Stubbed clients, made on first use; `expect(service, *calls)` queues responses (a 3-tuple of strings: an error)."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        self.published: list[dict[str, Any]] = []

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = SESSION.create_client(service, region_name="us-west-2")
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
            if service == "sns":
                self.clients[service].meta.events.register("provide-client-params.sns.Publish", self._capture)
        return self.clients[service]

    def _capture(self, params: dict[str, Any], **_: Any) -> None:
        self.published.append(dict(params))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.client({"sfn": "stepfunctions"}.get(name, name))

    def expect(self, service: str, *calls: Any) -> None:
        self.client(service)
        stub = self.stubs[service]
        for call in calls:
            if isinstance(call[1], str):
                stub.add_client_error(call[0], service_error_code=call[1], service_message=call[2])
            else:
                stub.add_response(call[0], call[1], call[2])

    def publish(self) -> None:
        self.expect("sns", ("publish", {"MessageId": "m-1"}, None))

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws() -> Iterator[Clients]:
    clients = Clients()
    yield clients
    for stub in clients.stubs.values():
        stub.deactivate()


# --- status: one DescribeServiceDeployments, classified ------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "polls", "state", "pause"),
    [
        (
            deployment(
                stage="PRE_PRODUCTION_TRAFFIC_SHIFT", weight=40.0, hooks=[("h-1", "AWAITING_ACTION"), ("h-0", "SUCCEEDED")]
            ),
            0,
            "PAUSED",
            {"hookIds": ["h-1"], "stage": "PRE_PRODUCTION_TRAFFIC_SHIFT", "percent": 40, "nextPercent": 60, "approval": False},
        ),
        (  # botocore's ServiceDeploymentLifecycleStage has no PRE_PRODUCTION_TRAFFIC_SHIFT; no PAUSE can be at this stage
            deployment(stage="PRODUCTION_TRAFFIC_SHIFT", weight=80.0, hooks=[("h-4", "AWAITING_ACTION")]),
            0,
            "PAUSED",
            {"hookIds": ["h-4"], "stage": "PRE_PRODUCTION_TRAFFIC_SHIFT", "percent": 80, "nextPercent": 100, "approval": True},
        ),
        (
            deployment(stage="POST_PRODUCTION_TRAFFIC_SHIFT", weight=100.0, hooks=[("h-5", "AWAITING_ACTION")]),
            0,
            "PAUSED",
            {
                "hookIds": ["h-5"],
                "stage": "POST_PRODUCTION_TRAFFIC_SHIFT",
                "percent": 100,
                "nextPercent": None,
                "approval": False,
            },
        ),
        (deployment(stage="POST_SCALE_UP", hooks=[("user", "AWAITING_ACTION")]), 0, "RUNNING", None),  # not our stage
        (deployment(stage="BAKE_TIME", weight=20.0, hooks=[("h-1", "SUCCEEDED")]), 0, "RUNNING", None),
        (deployment(stage="BAKE_TIME", weight=20.0), 3, "TIMED_OUT", None),  # the 4th read, maxPolls 3
        (deployment("SUCCESSFUL", "CLEAN_UP", 100.0), 0, "SUCCESSFUL", None),
        (deployment("ROLLBACK_IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"), 0, "ROLLING_BACK", None),
        (deployment("ROLLBACK_IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"), 3, "TIMED_OUT", None),  # past maxPolls 3
        (deployment("ROLLBACK_REQUESTED", "BAKE_TIME"), 3, "TIMED_OUT", None),
        (deployment("STOP_REQUESTED", "BAKE_TIME"), 3, "TIMED_OUT", None),
        (deployment("ROLLBACK_IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"), 2, "ROLLING_BACK", None),  # the 3rd read: still waits
        (deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP"), 0, "ROLLED_BACK", None),
        (deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP"), 3, "ROLLED_BACK", None),  # an end is an end, however late
        (deployment("ROLLBACK_FAILED", "CLEAN_UP"), 0, "ROLLBACK_FAILED", None),
    ],
    ids=[
        "pre",
        "pre-reported-at-shift",
        "post",
        "user-pause",
        "baking",
        "timed-out",
        "successful",
        "rolling-back",
        "rolling-back-timed-out",
        "rollback-requested-timed-out",
        "stopping-timed-out",
        "rolling-back-within-max-polls",
        "rolled-back",
        "rolled-back-late",
        "rollback-failed",
    ],
)
def test_read_deployment_classifies_each_state(
    aws: Clients, found: dict[str, Any], polls: int, state: str, pause: dict[str, Any] | None
) -> None:
    aws.expect("ecs", describe(found))
    record = status.read_deployment(aws.ecs, make_plan(), ecs_record(polls=polls))
    assert (record["state"], record["polls"], record["waitSeconds"]) == (state, polls + 1, 30)
    if pause is None:
        assert record["pause"] is None
    else:
        assert {k: record["pause"][k] for k in pause} == pause
        percent = pause["percent"]
        assert record["weights"] == {GREEN: percent, BLUE: 100 - percent}
        if pause["nextPercent"] is not None:
            assert record["pause"]["nextWeights"] == {GREEN: pause["nextPercent"], BLUE: 100 - pause["nextPercent"]}
    assert (record["status"], record["statusReason"], record["stage"]) == (
        found["status"],
        found["statusReason"],
        found["lifecycleStage"],
    )
    aws.done()


def test_a_stopped_deployment_with_a_newer_one_is_superseded(aws: Clients) -> None:
    aws.expect(
        "ecs", describe(deployment("STOPPED", "CLEAN_UP")), listed([brief(DEPLOYMENT), brief(NEWER)], createdAt={"after": T0})
    )
    record = status.read_deployment(aws.ecs, make_plan(), ecs_record())
    assert (record["state"], record["supersededBy"]) == ("SUPERSEDED", NEWER)
    aws.expect("ecs", describe(deployment("STOPPED", "CLEAN_UP")), listed([brief(DEPLOYMENT)], createdAt={"after": T0}))
    assert status.read_deployment(aws.ecs, make_plan(), ecs_record())["state"] == "STOPPED"
    aws.done()


def test_a_paused_read_takes_the_weights_from_the_production_rule(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    class Rule:
        def read(self) -> Any:
            return type("State", (), {"weights": {"checkout-green": 40, "checkout-blue": 60}})()

    monkeypatch.setattr(status, "route_for", lambda reference: Rule())
    rule = {"backend": "alb", "targets": {"checkout-green": GREEN, "checkout-blue": BLUE}}
    aws.expect("ecs", describe(deployment(stage="PRE_PRODUCTION_TRAFFIC_SHIFT", weight=40.0, hooks=[("h", "AWAITING_ACTION")])))
    record = status.read_deployment(aws.ecs, make_plan(productionRule=rule), ecs_record())
    assert record["weights"] == {GREEN: 40, BLUE: 60}


def test_an_unknown_deployment_is_named(aws: Clients) -> None:
    aws.expect("ecs", describe(None))
    with pytest.raises(MeshResourceNotFound, match="MISSING"):
        status.read_deployment(aws.ecs, make_plan(), ecs_record())


def test_step_window_is_the_time_held_less_the_settle_at_least_a_minute() -> None:
    plan, record = make_plan(settleSeconds=90), ecs_record(continuedAt=1000)
    assert status.window_seconds(plan, record, now=1000 + 90 + 600) == 600
    assert status.window_seconds(plan, record, now=1100) == 60


def test_step_window_is_at_least_the_step_bake_ecs_waited_before_pausing() -> None:
    """A clock faster than ECS's (offline) still judges the whole bake; at 100 % the final bake (we hold the pause)."""
    plan = make_plan(settleSeconds=90, bakeSeconds={"step": 600, "final": 300})
    at_40 = ecs_record(continuedAt=1000, pause={"percent": 40, "hookIds": ["h"]})
    assert status.window_seconds(plan, at_40, now=1005) == 600
    assert status.window_seconds(plan, at_40, now=1000 + 90 + 900) == 900
    at_100 = ecs_record(continuedAt=1000, pause={"percent": 100, "hookIds": ["h"]})
    assert status.window_seconds(plan, at_100, now=1005) == 300  # held for the final bake before it is judged


# --- decide: ContinueServiceDeployment per hook, fenced --------------------------------------------------------


def paused(
    percent: int = 40, stage: str = "PRE_PRODUCTION_TRAFFIC_SHIFT", hooks: tuple[str, ...] = ("h-1", "h-2")
) -> dict[str, Any]:
    pause = {"hookIds": list(hooks), "stage": stage, "percent": percent}
    return ecs_record(state="PAUSED", pause=pause, weights={GREEN: percent, BLUE: 100 - percent}, polls=2)


@pytest.mark.parametrize(
    ("percent", "stage", "wait"),
    [
        (40, "PRE_PRODUCTION_TRAFFIC_SHIFT", 630),
        (80, "PRE_PRODUCTION_TRAFFIC_SHIFT", 330),  # to 100 %: held there for the final bake (300) + settle
        (100, "POST_PRODUCTION_TRAFFIC_SHIFT", 300),
    ],
)
def test_continue_answers_every_waiting_hook_and_waits_for_the_next_bake(
    aws: Clients, percent: int, stage: str, wait: int
) -> None:
    aws.expect("dynamodb", get_lock())
    aws.expect("ecs", answer_hook("h-1", "CONTINUE"), answer_hook("h-2", "CONTINUE"))
    check = {"state": "HEALTHY", "summary": "HEALTHY: judge PASS", "windowSeconds": 570}
    record = decide.answer(aws.ecs, aws.dynamodb, TABLE, make_plan(), paused(percent, stage), "CONTINUE", ME, check)
    assert (record["polls"], record["waitSeconds"], record["decision"]) == (0, wait, "CONTINUE")
    assert record["steps"] == [
        {
            "percent": percent,
            "stage": stage,
            "verdict": "HEALTHY: judge PASS",
            "weights": {GREEN: percent, BLUE: 100 - percent},
            "window": 570,
            "action": "CONTINUE",
        }
    ]
    assert record["continuedAt"] >= int(T0.timestamp())
    aws.done()


def continue_refused(aws: Clients, code: str, message: str, found: dict[str, Any]) -> dict[str, Any]:
    """CONTINUE at the pause on hook h-1: ECS refuses ContinueServiceDeployment with `code`, and the deployment
    then reads as `found` (the answer's outcome depends on whether h-1 still waits)."""
    aws.expect("dynamodb", get_lock())
    aws.expect("ecs", error("continue_service_deployment", code, message), describe(found))
    return decide.answer(aws.ecs, aws.dynamodb, TABLE, make_plan(), paused(hooks=("h-1",)), "CONTINUE", ME)


def test_a_retried_continue_whose_hook_no_longer_waits_counts_as_answered(aws: Clients) -> None:
    found = deployment(stage="BAKE_TIME", weight=60.0, hooks=[("h-1", "SUCCEEDED")])
    record = continue_refused(aws, "ClientException", "hook is not awaiting action", found)
    assert record["answered"] == ["h-1: already SUCCEEDED"]
    aws.done()


def test_a_refused_continue_whose_hook_still_waits_is_raised(aws: Clients) -> None:
    found = deployment(stage="PRE_PRODUCTION_TRAFFIC_SHIFT", hooks=[("h-1", "AWAITING_ACTION")])
    with pytest.raises(AwsRequestRejected, match="bad hook"):
        continue_refused(aws, "InvalidParameterException", "bad hook", found)


def test_rollback_at_a_pause_answers_it_rollback(aws: Clients) -> None:
    aws.expect("dynamodb", get_lock())
    aws.expect("ecs", answer_hook("h-1", "ROLLBACK"))
    record = decide.answer(
        aws.ecs, aws.dynamodb, TABLE, make_plan(), paused(hooks=("h-1",)), "ROLLBACK", ME, None, "ApprovalRejected: no"
    )
    assert (record["waitSeconds"], record["steps"][-1]["reason"], record["steps"][-1]["action"]) == (
        30,
        "ApprovalRejected: no",
        "ROLLBACK",
    )
    aws.done()


def test_rollback_without_a_pause_stops_the_deployment_and_a_conflict_is_reported(aws: Clients) -> None:
    aws.expect("dynamodb", get_lock(), get_lock())
    aws.expect("ecs", stop_rollback(), error("stop_service_deployment", "ConflictException", "already completed"))
    running = ecs_record(state="TIMED_OUT", pause=None, percent=20)
    first = decide.answer(aws.ecs, aws.dynamodb, TABLE, make_plan(), running, "ROLLBACK", ME)
    assert first["answered"] == ["StopServiceDeployment ROLLBACK: requested"]
    again = decide.answer(aws.ecs, aws.dynamodb, TABLE, make_plan(), running, "ROLLBACK", ME)
    assert again["answered"] == ["StopServiceDeployment ROLLBACK: refused, ConflictException: already completed"]
    aws.done()


def test_decide_sends_nothing_once_the_lock_is_someone_elses(aws: Clients) -> None:
    aws.expect("dynamodb", get_lock(OTHER))
    with pytest.raises(LockLost, match="run-2"):
        decide.answer(aws.ecs, aws.dynamodb, TABLE, make_plan(), paused(), "CONTINUE", ME)
    aws.done()  # no ECS call was queued: the Stubber would have refused one


# --- start: UpdateService once, recorded on the lock ----------------------------------------------------------


STARTED = {"status": ["IN_PROGRESS", "PENDING"]}


def update_service() -> tuple[str, dict[str, Any], dict[str, Any]]:
    plan = make_plan()
    params = {
        "cluster": "apps",
        "service": "checkout",
        "taskDefinition": TASK_DEFINITION,
        "deploymentConfiguration": plan["deploymentConfiguration"],
    }
    return "update_service", {}, params


def mark_lock(owner: str = ME) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The start marked on the lock item just before UpdateService (epoch milliseconds, the clock's)."""
    return set_on_lock("startingAt", ANY, owner)


def test_start_updates_the_service_and_records_its_deployment(aws: Clients) -> None:
    aws.expect("ecs", listed([], **STARTED), update_service(), listed([brief()], **STARTED), revisions())
    aws.expect("dynamodb", get_lock(), mark_lock(), record_lock())
    record = start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)
    assert record == {
        "serviceDeploymentArn": DEPLOYMENT,
        "startedAt": int(T0.timestamp()),
        "continuedAt": int(T0.timestamp()),
        "polls": 0,
        "waitSeconds": 630,
        "state": "RUNNING",
        "steps": [],
    }
    aws.done()


def test_a_retried_start_finds_its_deployment_and_does_not_update_again(aws: Clients) -> None:
    aws.expect("ecs", listed([brief()], **STARTED), revisions())
    aws.expect("dynamodb", record_lock())
    assert start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)["serviceDeploymentArn"] == DEPLOYMENT
    aws.done()


MARKED_MS = int(T0.timestamp() * 1000)


def test_a_retried_start_whose_deployment_ecs_already_ended_takes_it_and_does_not_update_again(aws: Clients) -> None:
    """The earlier try's UpdateService went through but its answer was lost, and ECS rolled that deployment back
    before the retry: the retry finds it since the start marked on the lock (not running any more) and records it;
    the state machine then reads it ROLLED_BACK, rather than a second deployment of the same revision."""
    since = {"createdAt": {"after": dt.datetime.fromtimestamp((MARKED_MS - start.MARK_MARGIN_MS) / 1000, dt.UTC)}}
    rolled_back = {**brief(), "status": "ROLLBACK_SUCCESSFUL"}
    aws.expect("ecs", listed([], **STARTED), listed([rolled_back], **since), revisions())
    aws.expect("dynamodb", get_lock(starting_ms=MARKED_MS), record_lock())
    assert start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)["serviceDeploymentArn"] == DEPLOYMENT
    aws.done()


def test_a_retried_start_whose_earlier_try_started_nothing_starts_it(aws: Clients) -> None:
    since = {"createdAt": {"after": dt.datetime.fromtimestamp((MARKED_MS - start.MARK_MARGIN_MS) / 1000, dt.UTC)}}
    aws.expect("ecs", listed([], **STARTED), listed([], **since), update_service(), listed([brief()], **STARTED), revisions())
    aws.expect("dynamodb", get_lock(starting_ms=MARKED_MS), mark_lock(), record_lock())
    assert start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)["serviceDeploymentArn"] == DEPLOYMENT
    aws.done()


def test_start_changes_nothing_once_the_lock_is_someone_elses(aws: Clients) -> None:
    aws.expect("ecs", listed([], **STARTED))
    aws.expect("dynamodb", get_lock(OTHER))
    with pytest.raises(LockLost, match="nothing was started"):
        start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)
    aws.done()


def test_a_start_that_lost_the_lock_before_recording_rolls_its_deployment_back(aws: Clients) -> None:
    aws.expect("ecs", listed([brief()], **STARTED), revisions(), stop_rollback())
    aws.expect("dynamodb", error("update_item", "ConditionalCheckFailedException"))
    with pytest.raises(LockLost, match="rolled back"):
        start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)
    aws.done()


def test_start_refuses_while_someone_elses_deployment_runs(aws: Clients) -> None:
    aws.expect("ecs", listed([brief()], **STARTED), revisions(f"arn:aws:ecs:us-west-2:{ACCOUNT}:task-definition/checkout:7"))
    with pytest.raises(InvalidRolloutInput, match=r"^service: apps/checkout is already deploying"):
        start.start_deployment(aws.ecs, aws.dynamodb, TABLE, make_plan(), ME)
    aws.done()


def test_gate_mode_only_records_the_running_deployment(aws: Clients) -> None:
    aws.expect("ecs", describe(deployment(stage="PRE_PRODUCTION_TRAFFIC_SHIFT", hooks=[("h", "AWAITING_ACTION")])))
    aws.expect("dynamodb", record_lock())
    plan = make_plan(mode="gate", serviceDeploymentArn=DEPLOYMENT, taskDefinition=None)
    record = start.start_deployment(aws.ecs, aws.dynamodb, TABLE, plan, ME)
    assert (record["serviceDeploymentArn"], record["waitSeconds"], record["startedAt"]) == (DEPLOYMENT, 0, int(T0.timestamp()))
    aws.done()


# --- finish: the lock released, one notice, a readable cause ---------------------------------------------------


def release_lock() -> tuple[str, dict[str, Any], None]:
    return "transact_write_items", {}, None


def test_finish_after_a_judged_rollback_names_the_step_the_verdict_and_ecs_reason(aws: Clients) -> None:
    aws.expect("dynamodb", release_lock())
    aws.publish()
    summary = "UNHEALTHY: judge FAIL: canaryErrorRate worse than stable"
    steps = [
        {
            "percent": 20,
            "stage": "PRE_PRODUCTION_TRAFFIC_SHIFT",
            "verdict": "HEALTHY: judge PASS",
            "weights": {GREEN: 20, BLUE: 80},
            "window": 570,
            "action": "CONTINUE",
        },
        {
            "percent": 40,
            "stage": "PRE_PRODUCTION_TRAFFIC_SHIFT",
            "verdict": summary,
            "weights": {GREEN: 40, BLUE: 60},
            "window": 570,
            "action": "ROLLBACK",
            "reason": f"CanaryUnhealthy: at 40% (PRE_PRODUCTION_TRAFFIC_SHIFT): {summary}",
        },
    ]
    ecs = ecs_record(
        state="ROLLED_BACK", status="ROLLBACK_SUCCESSFUL", statusReason="rolled back by a lifecycle hook", steps=steps
    )
    state = {
        "plan": make_plan(),
        "ecs": ecs,
        "locked": True,
        "outcome": {"status": "FAILED", "error": "CanaryUnhealthy", "cause": f"at 40% (PRE_PRODUCTION_TRAFFIC_SHIFT): {summary}"},
    }
    result = finish.finish(aws.dynamodb, TABLE, aws.sns, TOPIC, ME, state)
    assert (result["outcome"], result["error"]) == ("ROLLED_BACK", "CanaryUnhealthy")
    assert (
        result["cause"]
        == f"step 40 % (PRE_PRODUCTION_TRAFFIC_SHIFT): {summary}; ECS rolled back: rolled back by a lifecycle hook"
    )
    assert (result["lockReleased"], result["notified"], result["ecsStatus"]) == (True, True, "ROLLBACK_SUCCESSFUL")
    [notice] = aws.published
    assert notice["Subject"] == "mesh-rollout: ECS apps/checkout CanaryUnhealthy"
    for line in (
        "apps/checkout (LINEAR)",
        f"step 20 % (PRE_PRODUCTION_TRAFFIC_SHIFT): HEALTHY: judge PASS; {GREEN} 20 / {BLUE} 80; CONTINUE",
        "ECS status: ROLLBACK_SUCCESSFUL: rolled back by a lifecycle hook",
        ME,
    ):
        assert line in notice["Message"]
    aws.done()


@pytest.mark.parametrize(
    ("ecs_state", "outcome", "error", "cause"),
    [
        ("SUCCESSFUL", "SUCCEEDED", "", "ECS's deployment succeeded: ECS says done"),
        ("ROLLED_BACK", "ROLLED_BACK", "EcsRolledBack", "ECS rolled back: ECS says done"),
        (
            "SUPERSEDED",
            "SUPERSEDED",
            "DeploymentSuperseded",
            f"ECS stopped it for a newer deployment: ECS says done (newer deployment {NEWER}; left alone)",
        ),
        ("TIMED_OUT", "FAILED", "DeploymentTimedOut", "still running at ECS: ECS says done"),
    ],
)
def test_finish_names_what_ecs_did_by_itself(aws: Clients, ecs_state: str, outcome: str, error: str, cause: str) -> None:
    aws.expect("dynamodb", release_lock())
    aws.publish()
    ecs = ecs_record(state=ecs_state, status="X", statusReason="ECS says done", supersededBy=NEWER)
    given = {"status": "SUCCEEDED" if ecs_state == "SUCCESSFUL" else "FAILED"}
    result = finish.finish(
        aws.dynamodb, TABLE, aws.sns, TOPIC, ME, {"plan": make_plan(), "ecs": ecs, "locked": True, "outcome": given}
    )
    assert (result["outcome"], result["error"], result["cause"]) == (outcome, error, cause)
    assert len(aws.published) == 1
    aws.done()


def test_finish_of_a_refused_execution_has_no_deployment(aws: Clients) -> None:
    cancelled = {"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}], "Message": "m"}
    aws.client("dynamodb")
    aws.stubs["dynamodb"].add_client_error("transact_write_items", "TransactionCanceledException", modeled_fields=cancelled)
    aws.expect("dynamodb", ("get_item", {}, None))
    aws.publish()
    outcome = {"status": "FAILED", "error": "RolloutInProgress", "cause": "ecs:... is locked by run-2"}
    result = finish.finish(aws.dynamodb, TABLE, aws.sns, TOPIC, ME, {"plan": make_plan(), "locked": False, "outcome": outcome})
    assert (result["error"], result["cause"], result["lockReleased"], result["serviceDeploymentArn"]) == (
        "RolloutInProgress",
        "ecs:... is locked by run-2",
        False,
        None,
    )
    assert "none started" in aws.published[0]["Message"]


# --- hook events: one gate execution per deployment ------------------------------------------------------------


def hook_event(name: str = "HOOK_AWAITING_ACTION", stage: str = "PRE_PRODUCTION_TRAFFIC_SHIFT") -> dict[str, Any]:
    detail = {
        "eventType": "INFO",
        "eventName": name,
        "hookId": "h-1",
        "hookType": "PAUSE",
        "lifecycleStage": stage,
        "clusterArn": CLUSTER_ARN,
        "serviceArn": SERVICE_ARN,
        "serviceDeploymentArn": DEPLOYMENT,
    }
    return {"source": "aws.ecs", "detail-type": "ECS Hook State Change", "resources": [DEPLOYMENT], "detail": detail}


PARAMETER = "/mesh-rollout/ecs-gates/apps/checkout"


def start_gate(payload: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    params = {"stateMachineArn": MACHINE, "name": "gate-AbC123", "input": json.dumps(payload)}
    return (
        "start_execution",
        {"executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:gate-AbC123", "startDate": T0},
        params,
    )


def test_a_pause_of_an_ungated_deployment_starts_its_gate_once(aws: Clients) -> None:
    default = {
        "healthGate": {
            "alarmNames": ["checkout-5xx"],
            "compare": {"metrics": [{"id": "errorRate", "preset": "errorRate"}, {"id": "latency", "preset": "latency"}]},
        }
    }
    identity = {"serviceDeploymentArn": DEPLOYMENT, "cluster": "apps", "service": "checkout"}
    aws.expect("dynamodb", get_lock(None), get_lock(None))
    aws.expect("ssm", error("get_parameter", "ParameterNotFound"), error("get_parameter", "ParameterNotFound"))
    aws.expect("ecs", describe(deployment()), describe(deployment()))
    aws.expect("stepfunctions", start_gate({**default, **identity}), error("start_execution", "ExecutionAlreadyExists"))
    first = hook_events.on_hook_event(hook_event(), aws.sfn, aws.dynamodb, TABLE, MACHINE, aws.ssm, aws.ecs)
    again = hook_events.on_hook_event(hook_event(), aws.sfn, aws.dynamodb, TABLE, MACHINE, aws.ssm, aws.ecs)
    assert (
        first["started"]
        == again["started"]
        == f"arn:aws:states:us-west-2:{ACCOUNT}:execution:EcsDeploymentStateMachine:gate-AbC123"
    )
    assert again["why"] == "already started for this deployment"
    aws.done()


def test_the_services_ssm_parameter_sets_the_gate(aws: Clients) -> None:
    settings = {"healthGate": {"alarmNames": ["a"]}, "approval": {"beforeSteps": [100]}, "cluster": "ignored"}
    aws.expect("dynamodb", get_lock(None))
    aws.expect("ssm", ("get_parameter", {"Parameter": {"Name": PARAMETER, "Value": json.dumps(settings)}}, {"Name": PARAMETER}))
    payload = {
        "healthGate": {"alarmNames": ["a"]},
        "approval": {"beforeSteps": [100]},
        "serviceDeploymentArn": DEPLOYMENT,
        "cluster": "apps",
        "service": "checkout",
    }
    aws.expect("stepfunctions", start_gate(payload))
    result = hook_events.on_hook_event(hook_event(), aws.sfn, aws.dynamodb, TABLE, MACHINE, aws.ssm, aws.ecs)
    assert result["why"] == f"gating {DEPLOYMENT} with SSM parameter {PARAMETER}"
    aws.done()


@pytest.mark.parametrize("arn", [DEPLOYMENT, NEWER])
def test_a_held_service_lock_starts_nothing(aws: Clients, arn: str) -> None:
    aws.expect("dynamodb", get_lock(OTHER, arn))
    result = hook_events.on_hook_event(hook_event(), aws.sfn, aws.dynamodb, TABLE, MACHINE, aws.ssm, aws.ecs)
    assert result["started"] is None and ("this deployment" if arn == DEPLOYMENT else "another deployment") in result["why"]
    aws.done()


@pytest.mark.parametrize(
    ("name", "stage"), [("HOOK_SUCCEEDED", "PRE_PRODUCTION_TRAFFIC_SHIFT"), ("HOOK_AWAITING_ACTION", "POST_SCALE_UP")]
)
def test_other_hook_events_start_nothing(aws: Clients, name: str, stage: str) -> None:
    assert (
        hook_events.on_hook_event(hook_event(name, stage), aws.sfn, aws.dynamodb, TABLE, MACHINE, aws.ssm, aws.ecs)["started"]
        is None
    )
    aws.done()


# --- clean-up of a stopped execution ---------------------------------------------------------------------------


def history(*outputs: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "type": "TaskStateExited",
            "timestamp": T0,
            "stateExitedEventDetails": {"name": f"S{i}", "output": json.dumps(o)},
        }
        for i, o in enumerate(outputs)
    ]


CLEANER = f"{ME}#cleanup"


def take_over(previous: str = ME) -> tuple[str, dict[str, Any], None]:
    return "put_item", {"Attributes": lock_item(previous)}, None


@pytest.mark.parametrize(
    ("found", "ecs_calls", "said"),
    [
        (
            deployment(stage="PRE_PRODUCTION_TRAFFIC_SHIFT", weight=40.0, hooks=[("h-1", "AWAITING_ACTION")]),
            [answer_hook("h-1", "ROLLBACK")],
            "rolled back at its PRE_PRODUCTION_TRAFFIC_SHIFT pause (40 %)",
        ),
        (deployment(stage="BAKE_TIME", weight=40.0), [stop_rollback()], "stopped with a rollback (was IN_PROGRESS)"),
        (deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP"), [], "left as it is: ROLLBACK_SUCCESSFUL"),
    ],
    ids=["at-a-pause", "between-pauses", "already-over"],
)
def test_cleanup_rolls_back_the_deployment_of_a_stopped_execution(
    aws: Clients, found: dict[str, Any], ecs_calls: list[Any], said: str
) -> None:
    aws.expect("dynamodb", get_lock(ME, DEPLOYMENT), take_over(), release_lock())
    aws.expect("ecs", describe(found), *ecs_calls)
    done = recover_unfinished_deployment(
        aws.ecs, aws.dynamodb, TABLE, ME, history({"plan": make_plan()}, {"plan": make_plan(), "ecs": ecs_record()})
    )
    assert done == [f"ECS deployment {DEPLOYMENT} {said}", f"lock {LOCK_ID} released"]
    aws.done()


def test_cleanup_leaves_a_deployment_whose_lock_is_not_the_executions(aws: Clients) -> None:
    aws.expect("dynamodb", get_lock(OTHER, NEWER), ("get_item", {}, None))
    done = recover_unfinished_deployment(aws.ecs, aws.dynamodb, TABLE, ME, history({"plan": make_plan()}))
    assert done == [f"lock {LOCK_ID} is not the execution's (now {OTHER}): the deployment is left alone"]
    assert recover_unfinished_deployment(aws.ecs, aws.dynamodb, TABLE, ME, history({"rollout": {}})) == [
        "it stopped before planning: nothing to undo"
    ]
    aws.done()


def test_the_status_change_handler_cleans_up_an_aborted_ecs_deployment_and_tells_once(aws: Clients) -> None:
    events = history({"plan": make_plan()}, {"plan": make_plan(), "ecs": ecs_record()})
    aws.expect("stepfunctions", ("get_execution_history", {"events": events}, {"executionArn": ME, "includeExecutionData": True}))
    aws.expect("dynamodb", get_lock(ME, DEPLOYMENT), take_over(), release_lock())
    aws.expect("ecs", describe(deployment(stage="BAKE_TIME")), stop_rollback())
    aws.publish()
    detail = {"executionArn": ME, "stateMachineArn": MACHINE, "status": "ABORTED"}
    result = handle_status_change(detail, aws.sfn, aws.dynamodb, TABLE, aws.sns, TOPIC, "arn:weight-shift", aws.ecs, MACHINE)
    assert result["notified"] is True and result["done"][0].endswith("stopped with a rollback (was IN_PROGRESS)")
    assert aws.published[0]["Subject"] == "mesh-rollout: EcsDeploymentStateMachine ABORTED"
    aws.done()


# --- the approval request of an ECS step ------------------------------------------------------------------------


def test_the_approval_request_of_an_ecs_step_names_the_service_the_step_and_the_verdict(aws: Clients) -> None:
    aws.publish()
    ecs = paused(80, hooks=("h-4",))
    item = {"plan": make_plan(), "ecs": ecs, "check": {"state": "HEALTHY", "summary": "HEALTHY: judge PASS (score 98)"}}
    result = request_approval(aws.sns, TOPIC, aws.cloudwatch, aws.ecs, ME, item)
    assert result == {"messageId": "m-1", "health": "HEALTHY: judge PASS (score 98)"}
    [message] = aws.published
    assert message["Subject"] == "mesh-rollout: approve ECS apps/checkout to 100 %?"
    body = message["Message"]
    assert body.startswith("An ECS LINEAR deployment of apps/checkout waits for approval before its step to 100 %.")
    for line in (
        f"80 % of production traffic on the new revision ({GREEN} 80 / {BLUE} 20)",
        "stage:   PRE_PRODUCTION_TRAFFIC_SHIFT",
        "next:    100 % on the new revision",
        "health:  HEALTHY: judge PASS (score 98)",
        f"mesh-rollout approve {ME}",
        "makes ECS roll the deployment back",
    ):
        assert line in body
    aws.done()


def test_a_retried_cleanup_finds_the_deployment_in_the_history(aws: Clients) -> None:
    """A first delivery took the lock over and failed: the item it wrote has no deployment ARN; the history has it."""
    aws.expect("dynamodb", get_lock(CLEANER), take_over(CLEANER), release_lock())
    aws.expect("ecs", describe(deployment(stage="BAKE_TIME")), stop_rollback())
    done = recover_unfinished_deployment(aws.ecs, aws.dynamodb, TABLE, ME, history({"plan": make_plan(), "ecs": ecs_record()}))
    assert done[0] == f"ECS deployment {DEPLOYMENT} stopped with a rollback (was IN_PROGRESS)"
    aws.done()


@pytest.mark.parametrize(
    ("module", "bad", "field"),
    [
        ("start_ecs_deployment", {"plan": {}}, "executionArn"),
        ("ecs_deployment_status", {"plan": {}}, "ecs"),
        ("ecs_step_check", {"plan": {}, "ecs": {}, "checks": -1}, "checks"),
        ("ecs_decide", {"executionArn": ME, "plan": {}, "ecs": {}, "action": "PAUSE"}, "action"),
        ("finish_ecs_deployment", {"executionArn": ME, "plan": {}}, "locked"),
        ("ecs_hook_event", {"source": "aws.states", "detail": {}}, "source"),
    ],
)
def test_the_handlers_refuse_bad_events_before_any_aws_call(
    module: str, bad: dict[str, Any], field: str, lambda_context: Any
) -> None:
    import importlib

    with pytest.raises(InvalidRolloutInput) as caught:
        importlib.import_module(f"handlers.{module}").lambda_handler(bad, lambda_context)
    assert str(caught.value).startswith(f"{field}:")


def test_the_first_pause_says_there_is_nothing_to_judge_yet_rather_than_no_checks() -> None:
    """Before the first step nothing carries traffic: a gate without alarms reads nothing, and says why."""
    plan = make_plan(preStepGate={}, healthGate={"maxErrorRate": 0.01})
    verdict = status.step_check(None, None, plan, ecs_record(pause={"percent": 0, "hookIds": ["h"]}), 0, now=2000.0)
    assert verdict["state"] == "HEALTHY" and verdict["percent"] == 0
    assert verdict["reasons"] == ["no traffic on the new revision yet: nothing to judge before the first step (no alarms named)"]


def test_cleanup_finds_a_deployment_started_but_not_recorded(aws: Clients) -> None:
    """UpdateService landed but the execution stopped before the lock item or its history had the deployment: the
    clean-up finds it among the service's running deployments by the revision's task definition, and rolls it back."""
    statuses = ["IN_PROGRESS", "PENDING"]
    aws.expect("dynamodb", get_lock(ME), take_over(), release_lock())
    aws.expect(
        "ecs",
        listed([brief()], status=statuses),
        revisions(),
        describe(deployment(stage="SCALE_UP")),
        stop_rollback(),
    )
    done = recover_unfinished_deployment(aws.ecs, aws.dynamodb, TABLE, ME, history({"plan": make_plan()}))
    assert done == [f"ECS deployment {DEPLOYMENT} stopped with a rollback (was IN_PROGRESS)", f"lock {LOCK_ID} released"]
    aws.done()


def test_cleanup_of_a_start_that_started_nothing_says_so(aws: Clients) -> None:
    aws.expect("dynamodb", get_lock(ME), take_over(), release_lock())
    aws.expect("ecs", listed([], status=["IN_PROGRESS", "PENDING"]))  # nothing running: no revision to describe
    done = recover_unfinished_deployment(aws.ecs, aws.dynamodb, TABLE, ME, history({"plan": make_plan()}))
    assert done == ["no ECS deployment was started", f"lock {LOCK_ID} released"]
    aws.done()
