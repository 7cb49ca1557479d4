"""Rollouts keep their promises under faults injected under botocore's retries, at the Lambda service, between a
call and its response, and under stops at any state: the route back on its snapshot, the lock free, a named error."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout.traffic.appmesh import AppMeshRoute
from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.runner import OfflineAccount, RunResult
from tests.conftest import EVENTS, ROOT, load_json
from tests.support import (
    LOCK_ID,
    SM,
    applied_weights,
    approve,
    clean_up,
    lambda_refuses,
    lock_item,
    route_spec,
    service_task_definition,
    set_alarm,
    stop_execution,
    weights,
)

GUIDE_SNAPSHOT = {"serviceB": 75, "serviceBv2": 25}


@pytest.fixture
def logged_account() -> Iterator[tuple[OfflineAccount, io.StringIO]]:
    """The guide's world for a shift, with what the handlers log kept."""
    output = io.StringIO()
    with OfflineAccount(ROOT / "template.yaml", handler_output=output) as emulated:  # type: ignore[arg-type]
        emulated.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        yield emulated, output


def task_failures(result: RunResult) -> list[dict[str, str]]:
    """The error and cause of every failed Lambda invocation of the execution, in order."""
    return [
        e.get("lambdaFunctionFailedEventDetails") or e["taskFailedEventDetails"]
        for e in result.history
        if e["type"] in ("LambdaFunctionFailed", "TaskFailed")
    ]


def metric_values(printed: str, name: str) -> list[float]:
    """The values of metric `name` in what the handlers printed (Powertools' EMF lines go to stdout)."""
    found: list[float] = []
    for line in printed.splitlines():
        if line.startswith("{") and f'"{name}"' in line:
            found.extend(json.loads(line)[name])
    return found


# --- error classification, end to end ------------------------------------------------------------------


def test_an_sns_throttle_during_the_approval_request_is_retried_not_a_rollback(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    # Given SNS throttling the approval request three times (botocore does not retry SNS's "Throttled" itself)
    shift_account.faults.add("sns", "Publish", code="Throttled", status=429, times=3)
    result = shift_account.run(SM, shift_input, approver=approve)
    # Then the state machine retries it (TransientAwsError) and the healthy canary goes on to 100%
    assert result.status == "SUCCEEDED", result.cause
    assert [f["error"] for f in task_failures(result)] == ["TransientAwsError"] * 3
    assert weights(shift_account) == {"serviceBv2": 100}


@pytest.mark.parametrize(
    ("service", "operation", "fault"),
    [
        ("dynamodb", "PutItem", {"code": "ProvisionedThroughputExceededException", "status": 400}),
        ("dynamodb", "PutItem", {"code": "ThrottlingException", "status": 400}),
        ("dynamodb", "PutItem", {"kind": "connect-timeout"}),
        ("appmesh", "DescribeRoute", {"code": "TooManyRequestsException", "status": 429}),
        ("appmesh", "UpdateRoute", {"code": "InternalServerErrorException", "status": 500}),
        ("appmesh", "UpdateRoute", {"kind": "lost-response"}),
        ("cloudwatch", "DescribeAlarms", {"code": "Throttling", "status": 400}),
        ("cloudwatch", "DescribeAlarms", {"code": "SlowDown", "status": 503}),
        ("ecs", "DescribeServices", {"code": "ThrottlingException", "status": 400}),
        ("sns", "Publish", {"code": "KMSThrottling", "status": 400}),
    ],
    ids=lambda v: v if isinstance(v, str) else v.get("code", v.get("kind")),
)
def test_throttles_5xx_and_timeouts_of_every_service_are_retried_and_the_shift_completes(
    shift_account: OfflineAccount, shift_input: dict[str, Any], service: str, operation: str, fault: dict[str, Any]
) -> None:
    shift_account.faults.add(service, operation, times=5, **fault)  # more than botocore's 4 attempts
    result = shift_account.run(SM, shift_input, approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    assert {f["error"] for f in task_failures(result)} == {"TransientAwsError"}
    assert (weights(shift_account), lock_item(shift_account)) == ({"serviceBv2": 100}, None)


def test_a_register_task_definition_whose_response_was_lost_registers_no_second_revision(
    account: OfflineAccount, scenario: dict[str, Any]
) -> None:
    account.faults.add("ecs", "RegisterTaskDefinition", kind="lost-response", times=1)
    result = account.run("MeshRolloutStateMachine", scenario)
    assert result.status == "SUCCEEDED", result.cause
    ecs = account.client("ecs")
    revisions = {f: ecs.list_task_definitions(familyPrefix=f)["taskDefinitionArns"] for f in ("taskA", "taskB", "taskBv2")}
    assert {f: [a.rsplit("/", 1)[-1] for a in arns] for f, arns in revisions.items()} == {
        "taskA": ["taskA:1", "taskA:2"],
        "taskB": ["taskB:1", "taskB:2"],
        "taskBv2": ["taskBv2:1", "taskBv2:2"],
    }


@pytest.mark.parametrize(
    ("fault", "caught", "where"),
    [
        # the function ran (and updated the service) each time; Step Functions never got its answer
        (
            {"service": "lambda", "operation": "Invoke", "kind": "lost-response", "url_contains": "UpdateServiceFunction"},
            "Exception: Read timeout on endpoint URL",  # the emulator's name for it; AWS names it its own way
            "the service was put back on taskB:1",
        ),
        # ECS refused every UpdateService: the service never moved, and the rollback has nothing to do
        (
            {"service": "ecs", "operation": "UpdateService", "code": "ServerException", "status": 500},
            "TransientAwsError: UpdateService apps/serviceB",
            "the service is still on taskB:1",
        ),
    ],
    ids=["reply-lost-after-it-landed", "refused"],
)
def test_an_update_service_that_failed_for_good_is_rolled_back_as_it_may_have_landed(
    account: OfflineAccount, scenario: dict[str, Any], fault: dict[str, Any], caught: str, where: str
) -> None:
    # Given serviceB (deployed first) whose UpdateService fails past every retry
    account.faults.add(fault.pop("service"), fault.pop("operation"), times=10_000, **fault)
    # When the rollout runs, one service at a time
    result = account.run("MeshRolloutStateMachine", scenario | {"maxConcurrentDeployments": 1})
    account.faults.clear()
    # Then serviceB is on its previous revision, the rollout fails with a named error, and no other service started
    assert (result.status, result.error) == ("FAILED", "UpdateServiceFailed")
    first = str(result.cause).splitlines()[0]
    assert first.startswith(f"apps/serviceB: the update to taskB:2 failed ({caught}")
    assert first.endswith(f"; {where}")
    assert [service_task_definition(account, s) for s in ("serviceB", "serviceBv2", "serviceA")] == [
        "taskB:1",
        "taskBv2:1",
        "taskA:1",
    ]
    failed = next(c for c in result.children if c["status"] == "FAILED")
    names = [e["stateEnteredEventDetails"]["name"] for e in failed["history"] if e["type"].endswith("StateEntered")]
    assert names[-4:] == ["UpdateService", "RollbackService", "WhyRolledBack", "UpdateServiceFailed"]


# --- Lambda service errors -------------------------------------------------------------------------------


def test_lambda_throttling_that_outlasts_the_retries_is_named_and_the_route_rolled_back(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    lambda_refuses(shift_account, "CanaryHealthFunction")
    result = shift_account.run(SM, shift_input, approver=approve)
    assert (result.status, result.error) == ("FAILED", "LambdaServiceError")
    assert (result.cause or "").startswith("Lambda.TooManyRequestsException: ")
    assert "Rolled back: route apps/serviceB/serviceB is at serviceB 75 / serviceBv2 25" in (result.cause or "")
    failures = task_failures(result)
    assert {f["error"] for f in failures} == {"Lambda.TooManyRequestsException"}
    assert len(failures) == 1 + 5  # the ASL's Lambda.* retries are really exercised
    assert (weights(shift_account), lock_item(shift_account)) == (GUIDE_SNAPSHOT, None)


@pytest.mark.parametrize(
    ("machine", "function"),
    [("WeightShiftStateMachine", "PlanWeightShiftFunction"), ("MeshRolloutStateMachine", "EnsureVirtualNodeFunction")],
)
def test_a_lambda_service_error_anywhere_ends_with_the_project_name(
    shift_account: OfflineAccount, shift_input: dict[str, Any], scenario: dict[str, Any], machine: str, function: str
) -> None:
    lambda_refuses(shift_account, function, code="ServiceException", status=500)
    result = shift_account.run(machine, shift_input if machine == SM else {**scenario, "mesh": {"meshName": "other"}})
    assert (result.status, result.error) == ("FAILED", "LambdaServiceError")
    assert (result.cause or "").startswith("Lambda.ServiceException: ")


# --- the route lock never outlives its rollout -----------------------------------------------------------


def test_an_acquire_whose_response_was_lost_is_recognised_on_retry(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    # every botocore attempt of the first invocation lands, and its answer is lost
    shift_account.faults.add("dynamodb", "PutItem", kind="lost-response", times=4)
    result = shift_account.run(SM, shift_input, approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    assert result.states.count("AcquireGroupLocks") == 1 and lock_item(shift_account) is None


def test_a_lock_taken_by_an_acquire_that_failed_for_good_is_released_by_finish_rollout(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    shift_account.faults.add("dynamodb", "PutItem", kind="lost-response", times=10_000)
    result = shift_account.run(SM, shift_input, approver=approve)
    assert (result.status, result.error) == ("FAILED", "TransientAwsError")
    assert "Nothing was changed" in (result.cause or "")
    shift_account.faults.clear()
    assert lock_item(shift_account) is None  # the execution's own lock, taken by a call whose answer never came
    assert weights(shift_account) == GUIDE_SNAPSHOT


def test_a_lock_finish_rollout_could_not_release_is_released_when_the_execution_ends(
    logged_account: tuple[OfflineAccount, io.StringIO], shift_input: dict[str, Any]
) -> None:
    account, _ = logged_account
    account.faults.add("dynamodb", "TransactWriteItems", code="InternalServerError", status=500, times=10_000)
    result = account.run(SM, shift_input, approver=approve)
    # the shift's outcome stands: every step applied and gated
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["lockReleased"] is False and weights(account) == {"serviceBv2": 100}
    account.faults.clear()
    assert lock_item(account)["owner"]["S"] == result.execution_arn
    # EventBridge delivers the end of the execution to the status-change function
    done = clean_up(account, result.execution_arn, "SUCCEEDED", result.output)
    assert done["done"] == [f"lock {LOCK_ID} released (the execution could not release it itself)"]
    assert lock_item(account) is None
    again = clean_up(account, result.execution_arn, "SUCCEEDED", result.output)  # delivered twice: said, not told again
    assert again["done"] == [f"lock {LOCK_ID} was already released by an earlier delivery of this clean-up"]
    assert again["notice"] == "sent by an earlier delivery" and lock_item(account) is None


def test_finish_rollout_that_cannot_run_leaves_the_outcome_and_the_lock_to_the_clean_up(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    lambda_refuses(shift_account, "FinishRolloutFunction")
    succeeded = shift_account.run(SM, shift_input, approver=approve)
    assert succeeded.status == "SUCCEEDED" and succeeded.output["lockReleased"] is False
    assert lock_item(shift_account)["owner"]["S"] == succeeded.execution_arn
    back = {**shift_input, "stable": "serviceBv2", "canary": "serviceB", "approval": None}
    assert shift_account.run(SM, back).error == "RolloutInProgress"  # until the execution's end is handled
    shift_account.faults.clear()
    clean_up(shift_account, succeeded.execution_arn, "SUCCEEDED", succeeded.output)
    assert lock_item(shift_account) is None


# --- a notification never changes an outcome -----------------------------------------------------------


def test_an_outcome_that_cannot_be_published_still_stands_and_is_counted(
    logged_account: tuple[OfflineAccount, io.StringIO], shift_input: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    account, output = logged_account
    account.intercept(
        "FinishRolloutFunction", lambda event: account.faults.add("sns", "Publish", code="KMSThrottling", times=10_000)
    )
    succeeded = account.run(SM, shift_input, approver=approve)
    assert succeeded.status == "SUCCEEDED", succeeded.cause
    assert succeeded.output["summary"] == "weight shift succeeded: route apps/serviceB/serviceB is at serviceBv2 100"
    assert metric_values(capsys.readouterr().out, "NotificationsFailed") == [1.0]
    assert "outcome notification not sent" in output.getvalue()


def test_a_rolled_back_shift_keeps_its_error_when_its_outcome_cannot_be_published(
    logged_account: tuple[OfflineAccount, io.StringIO], shift_input: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    account, output = logged_account
    account.intercept(
        "FinishRolloutFunction", lambda event: account.faults.add("sns", "Publish", code="Throttled", status=429, times=10_000)
    )
    result = account.run(SM, shift_input, approver=lambda pending: (False, "not now"))
    assert (result.status, result.error) == ("FAILED", "ApprovalRejected")
    assert (result.cause or "").startswith("the step to 100% was rejected")
    assert "outcome notification not sent" in output.getvalue()
    assert "Rolled back: route apps/serviceB/serviceB is at serviceB 75 / serviceBv2 25" in (result.cause or "")
    assert metric_values(capsys.readouterr().out, "NotificationsFailed") == [1.0]


# --- stops and races ----------------------------------------------------------------------------------


def _stop_while(function: str, when: Any = lambda event: True) -> Any:
    def arrange(account: OfflineAccount) -> None:
        stopped: list[str] = []

        def before(event: dict[str, Any]) -> None:
            if not stopped and when(event):
                stopped.append(event["executionArn"])
                stop_execution(account, event["executionArn"])

        account.intercept(function, before)

    return arrange


STOPS = [
    ("while the canary's health is checked", _stop_while("CanaryHealthFunction")),
    ("while the 100% step is applied", _stop_while("ShiftTrafficFunction", lambda e: e.get("step", {}).get("percent") == 100)),
    ("while the canary is finalized", _stop_while("FinalizeCanaryFunction")),
    ("while the approval waits", None),
]


@pytest.mark.parametrize(("case", "arrange"), STOPS, ids=[s[0] for s in STOPS])
def test_a_stop_at_any_state_ends_with_the_route_on_its_snapshot_and_the_lock_free(
    shift_account: OfflineAccount, shift_input: dict[str, Any], case: str, arrange: Any
) -> None:
    snapshot = route_spec(shift_account)
    if arrange:
        arrange(shift_account)
        stopped = shift_account.run(SM, shift_input, approver=approve)
    else:
        stopped = shift_account.run(
            SM, shift_input, approver=lambda pending: stop_execution(shift_account, lock_item(shift_account)["owner"]["S"])
        )
    assert stopped.status == "ABORTED"
    result = clean_up(shift_account, stopped.execution_arn)
    assert result["done"][-1] == f"lock {LOCK_ID} released", result["done"]
    assert route_spec(shift_account) == snapshot
    assert lock_item(shift_account) is None


def test_a_write_in_flight_when_the_clean_up_ran_undoes_itself(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """MoveLegs read the route, then the execution was stopped and cleaned up, then MoveLegs' write landed."""
    snapshot = route_spec(shift_account)
    original = AppMeshRoute.write
    raced: list[dict[str, Any]] = []

    def write_after_the_clean_up(self: AppMeshRoute, new: dict[str, int], based_on: Any = None) -> Any:
        if new == {"serviceB": 0, "serviceBv2": 100} and not raced:
            execution_arn = lock_item(shift_account)["owner"]["S"]
            stop_execution(shift_account, execution_arn)
            raced.append(clean_up(shift_account, execution_arn))
        return original(self, new, based_on)

    monkeypatch.setattr(AppMeshRoute, "write", write_after_the_clean_up)
    stopped: RunResult = shift_account.run(SM, shift_input, approver=approve)
    assert stopped.status == "ABORTED"
    assert raced[0]["done"][0] == "route apps/serviceB/serviceB restored to its snapshot serviceB 75 / serviceBv2 25"
    failed = task_failures(stopped)
    assert failed[-1]["error"] == "LockLost"
    assert (
        "its write of serviceB 0 / serviceBv2 100 was undone, back to the snapshot serviceB 75 / serviceBv2 25"
        in (failed[-1]["cause"])
    )
    assert route_spec(shift_account) == snapshot
    assert lock_item(shift_account) is None


def test_an_approval_given_while_the_canary_is_unhealthy_sends_it_no_traffic(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    def alarm_then_approve(pending: PendingApproval) -> tuple[bool, str]:
        set_alarm(shift_account, "ALARM")
        return True, "looked fine when I read the message"

    result = shift_account.run(SM, shift_input, approver=alarm_then_approve)
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy")
    assert applied_weights(result) == [{"serviceB": 50, "serviceBv2": 50}]  # never 100%, not even for a bake
    assert (weights(shift_account), lock_item(shift_account)) == (GUIDE_SNAPSHOT, None)


def test_a_stop_while_the_approval_task_waits_on_its_token_ends_the_execution_at_once(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    """The approval Lambda has run and the task waits on its token (TaskSubmitted, for the input's 24 h): a stop
    must end it now, not when the approval times out (moto alone sleeps through the whole wait). The approver
    holds the runner while it waits, so the runner's own timeout cannot be what ends it."""
    sfn = shift_account.client("stepfunctions")
    sent_stops: list[str] = []
    sfn.meta.events.register(  # the account's one Step Functions client, which `stop` sends with
        "before-call.sfn.StopExecution", lambda params, **kwargs: sent_stops.append(json.loads(params["body"])["error"])
    )
    ended: list[str] = []

    def stop_once_waiting(pending: PendingApproval) -> None:
        execution_arn = lock_item(shift_account)["owner"]["S"]
        deadline = time.monotonic() + 60  # a guard against a hang; the approval would time out after 24 h
        while not any(e["type"] == "TaskSubmitted" for e in sfn.get_execution_history(executionArn=execution_arn)["events"]):
            assert time.monotonic() < deadline, "the approval task never waited on its token"
            time.sleep(0.01)
        stop_execution(shift_account, execution_arn)
        while (status := sfn.describe_execution(executionArn=execution_arn)["status"]) == "RUNNING":
            assert time.monotonic() < deadline, "the stop did not end the execution waiting on its token"
            time.sleep(0.01)
        ended.append(status)

    stopped = shift_account.run(SM, shift_input, approver=stop_once_waiting)
    assert (ended, stopped.status, sent_stops) == (["ABORTED"], "ABORTED", ["Operator"])
