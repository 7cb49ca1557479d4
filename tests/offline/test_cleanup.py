"""The clean-up after a weight shift ends (ExecutionStatusChange, as EventBridge delivers it, twice at times): the lock
kept until the route is restored, the canary service back on its revision after a stop, one notice per outcome."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mesh_rollout.errors import RolloutInProgress, TransientAwsError
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.cleanup import StatusChangeHandled, state_output
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.release import with_images
from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, load_json
from tests.support import (
    LOCK_ID,
    SM,
    clean_up,
    handle,
    lambda_refuses,
    lock_item,
    route_spec,
    service_task_definition,
    status_change_event,
    stop_execution,
    stop_running,
    weights,
)

STOPPED_AT_50 = {"serviceB": 50, "serviceBv2": 50}
SNAPSHOT_LINE = "route apps/serviceB/serviceB restored to its snapshot serviceB 75 / serviceBv2 25"


def notices_of(account: OfflineAccount, execution_arn: str) -> list[str]:
    """The outcome notices published about the execution (approval requests left out)."""
    return [
        n["message"]
        for n in account.notifications()
        if execution_arn in n["message"] and not n["subject"].startswith("mesh-rollout: approve")
    ]


def stop_at_the_approval(account: OfflineAccount, shift: dict[str, Any]) -> str:
    """Run the shift and stop it while it waits for approval before 100% (at 50/50); its execution ARN."""

    def stop(pending: PendingApproval) -> None:
        stop_running(account, error="Operator", cause="stopped by hand")

    stopped = account.run(SM, shift, approver=stop)
    assert stopped.status == "ABORTED" and weights(account) == STOPPED_AT_50
    return stopped.execution_arn


def aborted(account: OfflineAccount, execution_arn: str) -> dict[str, Any]:
    return status_change_event(execution_arn, account.state_machine_arns[SM], "ABORTED")


def test_a_clean_up_whose_restore_fails_keeps_the_lock_until_its_retry_restores_the_route(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = route_spec(shift_account)
    arn = stop_at_the_approval(shift_account, shift_input)
    # Given the clean-up's route write throttled through all of botocore's attempts on the first delivery
    throttled = shift_account.faults.add("appmesh", "UpdateRoute", code="TooManyRequestsException", status=429, times=4)
    with pytest.raises(TransientAwsError):  # Lambda retries the event
        handle(shift_account, aborted(shift_account, arn), monkeypatch)
    assert throttled.hits == 4 and weights(shift_account) == STOPPED_AT_50
    # Then until the retry the clean-up keeps the lock: no rollout can snapshot the half-shifted route
    assert lock_item(shift_account)["owner"]["S"] == f"{arn}#cleanup"
    env = shift_account.environment("ExecutionStatusChangeFunction")
    with pytest.raises(RolloutInProgress, match=f"locked by {arn}#cleanup"):
        lock.acquire(shift_account.client("dynamodb"), env["ROUTE_LOCK_TABLE"], LOCK_ID, "newer-rollout", 600)
    assert notices_of(shift_account, arn) == []  # the retry tells, once

    retried = handle(shift_account, aborted(shift_account, arn), monkeypatch)
    assert retried["done"] == [SNAPSHOT_LINE, f"lock {LOCK_ID} released"]
    assert route_spec(shift_account) == snapshot and lock_item(shift_account) is None
    assert len(notices_of(shift_account, arn)) == 1

    again = handle(shift_account, aborted(shift_account, arn), monkeypatch)  # EventBridge delivered it twice
    assert again["done"] == [
        "route apps/serviceB/serviceB already at its snapshot serviceB 75 / serviceBv2 25",
        f"lock {LOCK_ID} was already released by an earlier delivery of this clean-up",
    ]
    assert again["notice"] == "sent by an earlier delivery" and len(notices_of(shift_account, arn)) == 1
    assert lock_item(shift_account) is None and route_spec(shift_account) == snapshot


def test_a_release_whose_answer_was_lost_is_reported_as_this_executions_release(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    # Given FinishGroup's release taking effect and its answer lost (botocore's retry finds nothing to delete)
    lost = shift_account.faults.add("dynamodb", "TransactWriteItems", kind="lost-response")
    shift_account.faults.add("dynamodb", "DeleteItem", kind="lost-response")  # the release before it left a record
    result = shift_account.run(SM, shift_input, approver=lambda pending: (True, "ok"))
    assert result.status == "SUCCEEDED", result.cause
    # Then the output says what is true: this execution released the lock
    assert result.output["lockReleased"] is True and lock_item(shift_account) is None
    assert lost.hits == 1


def test_a_failed_weight_shift_is_notified_once(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rejected = shift_account.run(SM, shift_input, approver=lambda pending: (False, "not today"))
    assert (rejected.status, rejected.error) == ("FAILED", "ApprovalRejected")
    (told,) = notices_of(shift_account, rejected.execution_arn)  # FinishGroup's outcome notice
    assert "not today" in told
    event = status_change_event(
        rejected.execution_arn, shift_account.state_machine_arns[SM], "FAILED", error=rejected.error, cause=rejected.cause
    )
    for _ in range(2):  # delivered twice, even
        result = handle(shift_account, event, monkeypatch)
        assert result["done"] == [f"lock {LOCK_ID} was already released by the execution"]
        assert result["notice"] == "sent by the execution's FinishGroup" and "notified" not in result
    assert notices_of(shift_account, rejected.execution_arn) == [told]


def test_a_failed_weight_shift_whose_finish_could_not_run_is_notified_by_the_clean_up_once(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_refuses(shift_account, "FinishRolloutFunction")
    rejected = shift_account.run(SM, shift_input, approver=lambda pending: (False, "not today"))
    assert (rejected.status, rejected.error) == ("FAILED", "ApprovalRejected")
    shift_account.faults.clear()
    assert notices_of(shift_account, rejected.execution_arn) == []
    event = status_change_event(
        rejected.execution_arn, shift_account.state_machine_arns[SM], "FAILED", error=rejected.error, cause=rejected.cause
    )
    result = handle(shift_account, event, monkeypatch)
    assert result["notified"] is True and result["done"][-1] == f"lock {LOCK_ID} released"
    (told,) = notices_of(shift_account, rejected.execution_arn)
    assert told.startswith(f"execution {rejected.execution_arn} ended FAILED: ApprovalRejected:")


@pytest.fixture
def release_input() -> dict[str, Any]:
    return load_json(EVENTS / "weight-shift-release.json")  # type: ignore[no-any-return]


def canary_revision(account: OfflineAccount) -> str:
    return service_task_definition(account, "serviceBv2")


def test_a_shift_stopped_after_its_release_puts_the_canary_service_back_on_its_revision(
    shift_account: OfflineAccount, release_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = canary_revision(shift_account)
    arn = stop_at_the_approval(shift_account, release_input)
    released = canary_revision(shift_account)
    assert released != before  # the release's revision runs, at 50% of the traffic

    done = handle(shift_account, aborted(shift_account, arn), monkeypatch)["done"]
    assert done == [
        SNAPSHOT_LINE,
        f"ECS service apps/serviceBv2 put back on {before} (the release's {released} undone)",
        f"lock {LOCK_ID} released",
    ]
    assert canary_revision(shift_account) == before and weights(shift_account) == {"serviceB": 75, "serviceBv2": 25}
    again = handle(shift_account, aborted(shift_account, arn), monkeypatch)["done"]
    assert again[1] == f"ECS service apps/serviceBv2 already on {before}, the revision it ran before the release"
    assert canary_revision(shift_account) == before


def test_a_canary_revision_deployed_by_hand_after_the_stop_stays(
    shift_account: OfflineAccount, release_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = stop_at_the_approval(shift_account, release_input)
    ecs = shift_account.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=canary_revision(shift_account))["taskDefinition"]
    hotfix = ecs.register_task_definition(**with_images(current, {"app": "example/servicebv2:1.1-hotfix"}))
    ecs.update_service(cluster="apps", service="serviceBv2", taskDefinition=hotfix["taskDefinition"]["taskDefinitionArn"])
    hand_set = canary_revision(shift_account)

    done = handle(shift_account, aborted(shift_account, arn), monkeypatch)["done"]
    assert done[1].startswith(f"ECS service apps/serviceBv2 not put back: it runs {hand_set}, not the release's ")
    assert canary_revision(shift_account) == hand_set and lock_item(shift_account) is None
    assert done[0] == SNAPSHOT_LINE


def clean_up_now(account: OfflineAccount, execution_arn: str) -> StatusChangeHandled:
    """Stop the execution and run its status-change clean-up at once, from inside a handler."""
    stop_execution(account, execution_arn)
    return clean_up(account, execution_arn)


def lambda_failures(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(error, message) of each failed Lambda invocation of the execution."""
    found = [e["lambdaFunctionFailedEventDetails"] for e in history if e["type"] == "LambdaFunctionFailed"]
    return [(f["error"], json.loads(f["cause"])["errorMessage"]) for f in found]


# A stop while UpdateCanaryServices runs: its Lambda runs on, so its UpdateService may land on either side of the
# clean-up's take-over of the lock. (a) Before it: the clean-up reads the service after taking the lock over, sees the
# release's revision and puts the previous one back. (b) After it: the clean-up found the service "already on" its
# revision and freed the lock; the update's own fence (the lock checked right after UpdateService) finds the lock
# lost and puts the service back itself. Either way the service ends on the revision it ran before.


def test_a_release_update_landing_after_the_stops_clean_up_puts_the_canary_back_itself(
    shift_account: OfflineAccount, release_input: dict[str, Any]
) -> None:
    """Order (b): UpdateServiceFunction held until the execution is stopped and cleaned up, then let go."""
    before = canary_revision(shift_account)
    cleaned: list[dict[str, Any]] = []

    def stop_and_clean_up_first(event: dict[str, Any]) -> None:
        if not cleaned:
            cleaned.append(clean_up_now(shift_account, event["executionArn"]))

    shift_account.intercept("UpdateServiceFunction", stop_and_clean_up_first)
    stopped = shift_account.run(SM, release_input, approver=lambda pending: (True, "ok"))
    assert stopped.status == "ABORTED" and stopped.states[-1] == "UpdateCanaryServices"
    assert cleaned[0]["done"][1:] == [
        f"ECS service apps/serviceBv2 already on {before}, the revision it ran before the release",
        f"lock {LOCK_ID} released",
    ]
    # Then the late update did not stick: the service is back on its revision, the lock free, the route restored
    assert canary_revision(shift_account) == before
    assert lock_item(shift_account) is None and weights(shift_account) == {"serviceB": 75, "serviceBv2": 25}
    released = released_in(stopped)
    assert lambda_failures(stopped.history) == [
        (
            "LockLost",
            f"this execution no longer holds lock {LOCK_ID} (now nobody) after its update to {released}: "
            f"ECS service apps/serviceBv2 put back on {before} (the release's {released} undone)",
        )
    ]


def test_a_release_update_landing_before_the_stops_clean_up_is_put_back_by_the_clean_up(
    shift_account: OfflineAccount, release_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Order (a): the update landed, then the execution was stopped and cleaned up before its fence checked the lock."""
    before = canary_revision(shift_account)
    original = LockFence.lost
    cleaned: list[dict[str, Any]] = []

    def clean_up_before_the_check(fence: LockFence) -> str | None:
        if not cleaned and not fence.owner.endswith("#cleanup"):
            cleaned.append(clean_up_now(shift_account, fence.owner))
        return original(fence)

    monkeypatch.setattr(LockFence, "lost", clean_up_before_the_check)
    stopped = shift_account.run(SM, release_input, approver=lambda pending: (True, "ok"))
    assert stopped.status == "ABORTED" and stopped.states[-1] == "UpdateCanaryServices"
    released = released_in(stopped)
    assert cleaned[0]["done"][1:] == [
        f"ECS service apps/serviceBv2 put back on {before} (the release's {released} undone)",
        f"lock {LOCK_ID} released",
    ]
    assert lambda_failures(stopped.history) == [
        (
            "LockLost",
            f"this execution no longer holds lock {LOCK_ID} (now nobody) after its update to {released}: "
            f"ECS service apps/serviceBv2 already on {before}, the revision it ran before the release",
        )
    ]
    assert canary_revision(shift_account) == before and lock_item(shift_account) is None


def released_in(result: Any) -> str:
    """The release's revision (RegisterReleases' output: the route alone's one leg's), short."""
    registered = state_output(result.history, "RegisterReleases")
    assert registered is not None
    (revision,) = registered["releaseRevisions"]["revisions"]
    return str(revision["taskDefinition"]).rsplit("/", 1)[-1]
