"""WeightShiftStateMachine end to end, offline: steps, approval, health gate, rollback, lock, drift, step mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.runner import OfflineAccount, RunResult
from tests.support import (
    LOCK_ID,
    ROUTE,
    SM,
    applied_weights,
    approve,
    handle,
    lock_item,
    route_spec,
    set_alarm,
    set_weights,
    status_change_event,
    stop_running,
    weights,
)


def test_happy_path_shifts_75_25_to_50_50_to_100_with_approval(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    assert weights(shift_account) == {"serviceB": 75, "serviceBv2": 25}
    asked: list[str] = []

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        asked.append(pending.describe())
        assert weights(shift_account) == {"serviceB": 50, "serviceBv2": 50}  # approval comes after the 50% step
        return True, "latency fine"

    result = shift_account.run(SM, shift_input, approver=approver)

    assert result.status == "SUCCEEDED", result.cause
    assert asked == ["the step to 100% on route apps/serviceB/serviceB"]
    assert applied_weights(result) == [{"serviceB": 50, "serviceBv2": 50}, {"serviceB": 0, "serviceBv2": 100}]
    assert route_spec(shift_account) == {
        "http2Route": {"action": {"weightedTargets": [{"virtualNode": "serviceBv2", "weight": 100}]}, "match": {"prefix": "/"}}
    }
    assert lock_item(shift_account) is None
    output = result.output
    assert output["status"] == "SUCCEEDED" and output["weights"] == {"serviceBv2": 100} and output["lockReleased"] is True
    assert [s["percent"] for s in output["steps"]] == [50, 100]
    decision = output["steps"][1]["decision"]
    assert decision["approved"] is True and decision["comment"] == "latency fine" and decision["approver"].startswith("arn:aws:")
    assert output["steps"][0]["health"]["state"] == "HEALTHY"
    assert result.mutating_calls() == {
        "appmesh:UpdateRoute": 3,
        "dynamodb:PutItem": 1,
        "dynamodb:TransactWriteItems": 1,  # the lock's release and its record
        "sns:Publish": 2,
    }


def test_approval_request_says_what_waits_and_never_contains_the_token(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    tokens: list[str] = []

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        tokens.append(pending.token)
        return True, ""

    result = shift_account.run(SM, shift_input, approver=approver)
    assert result.status == "SUCCEEDED"
    request, outcome = shift_account.notifications()
    assert "apps/serviceB/serviceB" in request["subject"]
    assert "now:     serviceB 50 / serviceBv2 50" in request["message"]
    assert "next:    serviceB 0 / serviceBv2 100" in request["message"]
    assert "health:  HEALTHY: alarm serviceBv2-5xx OK" in request["message"]
    assert f"mesh-rollout approve {result.execution_arn}" in request["message"]
    assert "succeeded" in outcome["subject"]
    assert tokens and all(t not in n["message"] + n["subject"] for t in tokens for n in shift_account.notifications())
    assert tokens[0] not in json.dumps(result.output)


def test_rerun_after_success_changes_nothing(shift_account: OfflineAccount, shift_input: dict[str, Any]) -> None:
    assert shift_account.run(SM, shift_input, approver=approve).status == "SUCCEEDED"
    again = shift_account.run(SM, shift_input, approver=approve)
    assert again.status == "SUCCEEDED"
    assert again.output["status"] == "NOTHING_TO_DO"
    assert again.mutating_calls() == {}
    assert weights(shift_account) == {"serviceBv2": 100}


# The five rollbacks (an alarm before the first step or at the approval, a rejection, an approval timeout, a failing
# canary deployment) run on this App Mesh route and on the other backends: test_traffic_backends.ROLLBACKS.


def test_rollback_puts_back_the_weights_and_keeps_what_someone_else_changed(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    snapshot = route_spec(shift_account)
    timeout = {"perRequest": {"unit": "s", "value": 15}}

    def edit_timeout_then_reject(pending: PendingApproval) -> tuple[bool, str]:
        spec = route_spec(shift_account)
        spec["http2Route"]["timeout"] = timeout
        shift_account.client("appmesh").update_route(**ROUTE, spec=spec)
        return False, "not yet"

    result = shift_account.run(SM, shift_input, approver=edit_timeout_then_reject)
    assert (result.status, result.error) == ("FAILED", "ApprovalRejected")
    restored = route_spec(shift_account)
    assert restored["http2Route"]["timeout"] == timeout
    assert restored["http2Route"]["action"] == snapshot["http2Route"]["action"]


def test_second_rollout_of_the_route_fails_fast_and_the_first_is_unaffected(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    seen: dict[str, Any] = {}

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        before = route_spec(shift_account)
        seen["lock"] = lock_item(shift_account)["owner"]["S"]
        seen["second"] = shift_account.run(SM, shift_input, approver=approve)
        seen["unchanged"] = route_spec(shift_account) == before
        seen["lock after"] = lock_item(shift_account)["owner"]["S"]
        return True, "first"

    first = shift_account.run(SM, shift_input, approver=approver)
    second: RunResult = seen["second"]
    assert (second.status, second.error) == ("FAILED", "RolloutInProgress")
    assert f"locked by {first.execution_arn}" in (second.cause or "")
    assert second.states[:4] == ["DryRunWanted", "PlanWeightShift", "AnythingToDo", "AcquireGroupLocks"]
    assert "appmesh:UpdateRoute" not in second.mutating_calls()
    assert seen["unchanged"] and seen["lock"] == seen["lock after"] == first.execution_arn
    assert first.status == "SUCCEEDED"
    assert weights(shift_account) == {"serviceBv2": 100}
    assert lock_item(shift_account) is None


def test_weights_changed_by_hand_mid_rollout_stop_it_and_survive(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    def approver(pending: PendingApproval) -> tuple[bool, str]:
        set_weights(shift_account, {"serviceB": 90, "serviceBv2": 10})  # someone pulls back by hand
        return True, "go"

    result = shift_account.run(SM, shift_input, approver=approver)
    assert (result.status, result.error) == ("FAILED", "RouteDrifted")
    assert "serviceB 90 / serviceBv2 10, which this rollout did not write" in (result.cause or "")
    assert "RollBackWaves" not in result.states and "RestoreLegs" not in result.states
    assert weights(shift_account) == {"serviceB": 90, "serviceBv2": 10}
    assert lock_item(shift_account) is None


def test_weights_set_back_by_hand_to_an_earlier_step_stay_there(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    """Weights this rollout wrote at an earlier step, set back by hand, are hand-set all the same: no rollback
    overwrites them with the snapshot (nor undoes a release, nor halts step mode)."""
    at_50 = {"serviceB": 50, "serviceBv2": 50}

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        assert weights(shift_account) == {"serviceB": 25, "serviceBv2": 75}
        set_weights(shift_account, at_50)  # someone pulls back to the 50% step
        return True, "go"

    result = shift_account.run(SM, {**shift_input, "steps": [50, 75, 100]}, approver=approver)
    assert (result.status, result.error) == ("FAILED", "RouteDrifted")
    assert "RestoreLegs" not in result.states
    assert weights(shift_account) == at_50
    assert result.mutating_calls().get("appmesh:UpdateRoute") == 2  # the 50% and 75% steps; set_weights is not ours
    assert lock_item(shift_account) is None


def test_drift_found_during_rollback_is_left_alone(shift_account: OfflineAccount, shift_input: dict[str, Any]) -> None:
    def approver(pending: PendingApproval) -> tuple[bool, str]:
        set_weights(shift_account, {"serviceB": 10, "serviceBv2": 90})
        return False, "no"

    result = shift_account.run(SM, shift_input, approver=approver)
    assert (result.status, result.error) == ("FAILED", "RouteDrifted")
    assert (result.cause or "").startswith("ApprovalRejected:")
    assert weights(shift_account) == {"serviceB": 10, "serviceBv2": 90}
    assert lock_item(shift_account) is None


def step_input(shift_input: dict[str, Any]) -> dict[str, Any]:
    tick = {k: v for k, v in shift_input.items() if k not in ("steps", "approval")}
    return {**tick, "mode": "increment", "stepPercent": 25}


def test_step_mode_walks_up_one_step_per_execution_then_finalizes_then_does_nothing(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    tick = step_input(shift_input)
    seen = []
    for _ in range(5):
        result = shift_account.run(SM, tick)
        assert result.status == "SUCCEEDED", result.cause
        seen.append((weights(shift_account), sum(result.mutating_calls().get(k, 0) for k in ["appmesh:UpdateRoute"])))
        assert lock_item(shift_account) is None
    assert seen == [
        ({"serviceB": 50, "serviceBv2": 50}, 1),
        ({"serviceB": 25, "serviceBv2": 75}, 1),
        ({"serviceB": 0, "serviceBv2": 100}, 1),
        ({"serviceBv2": 100}, 1),  # the tick that finds 100% gates, then retires serviceB
        ({"serviceBv2": 100}, 0),
    ]
    assert result.output["status"] == "NOTHING_TO_DO" and result.mutating_calls() == {}


def test_step_mode_gates_before_stepping_and_sends_everything_to_stable_when_unhealthy(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    set_alarm(shift_account, "ALARM")
    result = shift_account.run(SM, step_input(shift_input))
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy")
    assert not {"MoveLegs", "MoveLegsGatedBefore", "MoveWaveLegs"} & set(result.states)
    assert weights(shift_account) == {"serviceB": 100, "serviceBv2": 0}
    assert lock_item(shift_account) is None
    assert "Step-mode runs towards serviceBv2 are halted" in (result.cause or "")

    # the alarm clears once the canary has no traffic: the next ticks must not send it traffic again
    set_alarm(shift_account, "OK")
    tick = shift_account.run(SM, step_input(shift_input))
    assert (tick.status, tick.output["status"], tick.mutating_calls()) == ("SUCCEEDED", "HALTED", {})
    assert tick.output["reason"].startswith("CanaryUnhealthy: before the next step: UNHEALTHY: alarm serviceBv2-5xx is in ALARM")
    assert weights(shift_account) == {"serviceB": 100, "serviceBv2": 0}

    # a person resumes it with a plan-mode run; that success clears the halt, and ticks step again
    resumed = shift_account.run(SM, {**shift_input, "steps": [10], "approval": None}, approver=approve)
    assert resumed.status == "SUCCEEDED" and "halt of step-mode runs on this route is cleared" in resumed.output["summary"]
    assert shift_account.run(SM, step_input(shift_input)).output["status"] == "SUCCEEDED"
    assert weights(shift_account) == {"serviceB": 75, "serviceBv2": 25}  # 10% -> the next step of 25


def test_finalize_can_scale_the_stable_service_to_zero_and_delete_its_node(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    shift_input["finalize"] = {
        "removeStableTarget": True,
        "deleteStableNode": True,
        "scaleStableServiceToZero": True,
        "stableEcsService": {"cluster": "apps", "service": "serviceB"},
    }
    result = shift_account.run(SM, shift_input, approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    nodes = shift_account.client("appmesh").list_virtual_nodes(meshName="apps")["virtualNodes"]
    assert sorted(n["virtualNodeName"] for n in nodes) == ["serviceA", "serviceBv2"]
    service = shift_account.client("ecs").describe_services(cluster="apps", services=["serviceB"])["services"][0]
    assert service["desiredCount"] == 0
    assert shift_account.run(SM, shift_input, approver=approve).mutating_calls() == {}


def test_a_rollback_that_cannot_complete_says_where_the_route_was_left(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh_rollout.errors import TransientAwsError
    from mesh_rollout.traffic.appmesh import AppMeshRoute

    def broken_write(self: AppMeshRoute, weights: dict[str, int], based_on: Any = None) -> None:
        raise TransientAwsError("UpdateRoute apps/serviceB/serviceB: ThrottlingException: Rate exceeded")

    def break_updates_then_reject(pending: PendingApproval) -> tuple[bool, str]:
        monkeypatch.setattr(AppMeshRoute, "write", broken_write)
        return False, "p99 too high"

    result = shift_account.run(SM, shift_input, approver=break_updates_then_reject)
    assert (result.status, result.error) == ("FAILED", "RollbackFailed")
    assert result.states.count("RestoreLegs") == 1
    retries = [e for e in result.history if e["type"] == "LambdaFunctionFailed"]
    assert len(retries) == 1 + 8  # the first try, then MaxAttempts 8 retries with backoff
    assert "Rollback failed (TransientAwsError: UpdateRoute apps/serviceB/serviceB: ThrottlingException" in (result.cause or "")
    assert (result.cause or "").endswith("route apps/serviceB/serviceB is at serviceB 50 / serviceBv2 50")
    assert weights(shift_account) == {"serviceB": 50, "serviceBv2": 50}
    assert lock_item(shift_account) is None


def test_a_schedule_tick_during_another_rollout_is_a_quiet_no_op(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    seen: dict[str, Any] = {}

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        seen["tick"] = shift_account.run(SM, {**step_input(shift_input), "whenLocked": "skip"})
        return True, "first"

    first = shift_account.run(SM, shift_input, approver=approver)
    tick: RunResult = seen["tick"]
    assert tick.status == "SUCCEEDED" and tick.output["status"] == "SKIPPED_LOCKED"
    assert f"locked by {first.execution_arn}" in tick.output["reason"]
    assert tick.mutating_calls() == {"dynamodb:PutItem": 1}  # the refused conditional write, nothing else
    assert not [n for n in shift_account.notifications() if tick.execution_arn in n["message"]]
    assert first.status == "SUCCEEDED" and weights(shift_account) == {"serviceBv2": 100}


def test_a_weight_shift_stopped_mid_way_is_restored_by_the_status_change_handler(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = route_spec(shift_account)

    def stop_instead_of_answering(pending: PendingApproval) -> None:
        stop_running(shift_account, error="Operator", cause="stopped by hand")

    stopped = shift_account.run(SM, shift_input, approver=stop_instead_of_answering)
    assert stopped.status == "ABORTED"
    assert weights(shift_account) == {"serviceB": 50, "serviceBv2": 50}  # StopExecution runs no Catch
    assert lock_item(shift_account)["owner"]["S"] == stopped.execution_arn

    event = status_change_event(stopped.execution_arn, shift_account.state_machine_arns[SM], "ABORTED")
    result = handle(shift_account, event, monkeypatch)
    assert result["done"] == [
        "route apps/serviceB/serviceB restored to its snapshot serviceB 75 / serviceBv2 25",
        "lock appmesh:apps/serviceB/serviceB released",
    ]
    assert route_spec(shift_account) == snapshot
    assert lock_item(shift_account) is None
    assert f"execution {stopped.execution_arn} ended ABORTED." in shift_account.notifications()[-1]["message"]
    again = handle(shift_account, event, monkeypatch)  # EventBridge may deliver twice
    assert again["done"][0].endswith("already at its snapshot serviceB 75 / serviceBv2 25")


def test_status_change_handler_leaves_hand_set_weights_and_reports_other_failures(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:

    def hand_edit_then_stop(pending: PendingApproval) -> None:
        set_weights(shift_account, {"serviceB": 95, "serviceBv2": 5})
        stop_running(shift_account)

    stopped = shift_account.run(SM, shift_input, approver=hand_edit_then_stop)
    result = handle(
        shift_account, status_change_event(stopped.execution_arn, shift_account.state_machine_arns[SM], "TIMED_OUT"), monkeypatch
    )
    assert result["done"][0].startswith("route not restored: route apps/serviceB/serviceB has serviceB 95 / serviceBv2 5")
    assert weights(shift_account) == {"serviceB": 95, "serviceBv2": 5}
    assert lock_item(shift_account) is None

    failed = status_change_event(
        "arn:aws:states:us-west-2:123456789012:execution:MeshRolloutStateMachine:x",
        shift_account.state_machine_arns["MeshRolloutStateMachine"],
        "FAILED",
        error="DeploymentFailed",
        cause=json.dumps({"errorType": "DeploymentFailed", "errorMessage": "apps/serviceB: the deployment of taskB:3 failed"}),
    )
    assert handle(shift_account, failed, monkeypatch)["done"] == []
    message = shift_account.notifications()[-1]["message"]
    assert message == (
        "execution arn:aws:states:us-west-2:123456789012:execution:MeshRolloutStateMachine:x ended FAILED: "
        "DeploymentFailed: apps/serviceB: the deployment of taskB:3 failed"
    )


def test_status_change_handler_leaves_a_route_that_another_rollout_holds_now(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:

    def stop(pending: PendingApproval) -> None:
        stop_running(shift_account)

    stopped = shift_account.run(SM, shift_input, approver=stop)
    # the stopped rollout's lock expired and a newer rollout took the route before the event was handled
    newer = "arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:newer"
    item = {**lock_item(shift_account), "owner": {"S": newer}, "expiresAt": {"N": "4102444800"}}
    table = shift_account.client("dynamodb").list_tables()["TableNames"][0]
    shift_account.client("dynamodb").put_item(TableName=table, Item=item)

    result = handle(
        shift_account, status_change_event(stopped.execution_arn, shift_account.state_machine_arns[SM], "ABORTED"), monkeypatch
    )
    assert result["done"] == [f"route left alone: lock {LOCK_ID} is held by {newer}, another rollout of the route"]
    assert weights(shift_account) == {"serviceB": 50, "serviceBv2": 50}
    assert lock_item(shift_account)["owner"]["S"] == newer
