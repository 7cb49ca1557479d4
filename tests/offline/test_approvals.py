"""Answering approvals: finding the pending token in the history, `mesh-rollout approve|reject`, no token in logs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval, pending_approval
from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT, load_json
from tests.support import run_local


def scheduled(event_id: int, token: str, percent: int) -> dict[str, Any]:
    payload = {
        "executionArn": "e",
        "taskToken": token,
        "item": {"route": {"label": "apps/serviceB/serviceB"}, "step": {"percent": percent}},
    }
    return {
        "id": event_id,
        "type": "TaskScheduled",
        "taskScheduledEventDetails": {"resource": "invoke.waitForTaskToken", "parameters": json.dumps({"Payload": payload})},
    }


def ended(event_id: int, kind: str = "TaskSucceeded") -> dict[str, Any]:
    key = kind[0].lower() + kind[1:] + "EventDetails"
    return {"id": event_id, "type": kind, key: {"resource": "invoke.waitForTaskToken"}}


def test_pending_approval_is_the_last_unanswered_request() -> None:
    assert pending_approval([]) is None
    first = scheduled(3, "token-1", 50)
    assert pending_approval([first]) == PendingApproval(
        3, json.loads(first["taskScheduledEventDetails"]["parameters"])["Payload"]["item"], "token-1"
    )
    assert pending_approval([first, ended(5)]) is None
    assert pending_approval([first, ended(5, "TaskTimedOut")]) is None
    pending = pending_approval([first, ended(5), scheduled(9, "token-2", 100)])
    assert pending is not None and pending.token == "token-2"
    assert pending.describe() == "the step to 100% on route apps/serviceB/serviceB"
    assert "token-2" not in repr(pending)


def running_execution(account: OfflineAccount) -> str:
    sfn = account.client("stepfunctions")
    executions = sfn.list_executions(
        stateMachineArn=account.state_machine_arns["WeightShiftStateMachine"], statusFilter="RUNNING"
    )
    (execution,) = executions["executions"]
    return str(execution["executionArn"])


@pytest.mark.parametrize(("verb", "status"), [("approve", "SUCCEEDED"), ("reject", "FAILED")])
def test_cli_answers_with_the_callers_identity(
    shift_account: OfflineAccount, shift_input: dict[str, Any], capsys: pytest.CaptureFixture[str], verb: str, status: str
) -> None:
    codes: list[int] = []

    def approver(pending: PendingApproval) -> None:
        codes.append(main([verb, running_execution(shift_account), "--comment", "checked the dashboards"]))
        return None  # answered by the CLI, not by the runner

    result = shift_account.run("WeightShiftStateMachine", shift_input, approver=approver)
    assert codes == [0]
    assert result.status == status
    out = capsys.readouterr().out
    done = {"approve": "approved", "reject": "rejected"}[verb]
    assert f"{done} the step to 100% on route apps/serviceB/serviceB as arn:aws:sts::123456789012:" in out
    if verb == "approve":
        decision = result.output["steps"][1]["decision"]
        assert decision["approved"] is True and decision["comment"] == "checked the dashboards"
    else:
        assert result.error == "ApprovalRejected" and "checked the dashboards" in (result.cause or "")


def test_cli_says_so_when_nothing_waits(shift_account: OfflineAccount, capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:gone"
    shift_account.client("stepfunctions")  # the emulated endpoint answers the CLI's calls
    assert main(["approve", arn]) == 2  # the user's mistake: one line naming AWS's answer
    assert capsys.readouterr().err == f"mesh-rollout: ExecutionDoesNotExist: Execution Does Not Exist: '{arn}'\n"
    sfn = shift_account.client("stepfunctions")
    done = shift_account.run("WeightShiftStateMachine", load_json(EVENTS / "weight-shift-step.json"))
    assert done.status == "SUCCEEDED"
    assert main(["reject", done.execution_arn]) == 1
    assert "is not waiting for an approval" in capsys.readouterr().err
    assert sfn.describe_execution(executionArn=done.execution_arn)["status"] == "SUCCEEDED"


def test_task_tokens_never_reach_the_handler_logs(shift_input: dict[str, Any]) -> None:
    log = io.StringIO()
    tokens: list[str] = []
    with OfflineAccount(ROOT / "template.yaml", handler_output=log) as account:
        account.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")

        def approver(pending: PendingApproval) -> tuple[bool, str]:
            tokens.append(pending.token)
            return True, ""

        assert account.run("WeightShiftStateMachine", shift_input, approver=approver).status == "SUCCEEDED"
    assert tokens and "approval requested" in log.getvalue()
    assert tokens[0] not in log.getvalue()


def test_local_approve_runs_the_guides_shift_to_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_local(tmp_path, capsys, "--approve", "--comment", "ok")
    assert code == 0
    assert "? approval for the step to 100% on route apps/serviceB/serviceB: approved" in out
    assert "weight shift succeeded: route apps/serviceB/serviceB is at serviceBv2 100" in out


def test_local_reject_rolls_back_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_local(tmp_path, capsys, "--reject")
    assert code == 1
    assert "error: ApprovalRejected" in out
    assert "Rolled back: route apps/serviceB/serviceB is at serviceB 75 / serviceBv2 25" in out
    assert "http2Route: serviceB 75, serviceBv2 25" in out
