"""`mesh-rollout start --follow` and `mesh-rollout status`, against the emulated AWS endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS

SM = "WeightShiftStateMachine"


@pytest.fixture
def deployed_stack(shift_account: OfflineAccount, monkeypatch: pytest.MonkeyPatch) -> str:
    """A stack whose DescribeStacks outputs are those `sam deploy` gives, answered by a botocore Stubber
    (moto's CloudFormation needs packages this project does not install); every other client is the emulator's."""
    import boto3
    from botocore.stub import Stubber

    outputs = [{"OutputKey": f"{name}Arn", "OutputValue": arn} for name, arn in shift_account.state_machine_arns.items()]
    response = {
        "Stacks": [
            {
                "StackName": "mesh-rollout",
                "CreationTime": "2026-11-25T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": outputs,
            }
        ]
    }
    original = boto3.session.Session.client

    def client(self: Any, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        if (args[0] if args else kwargs.get("service_name")) == "cloudformation":
            stubber = Stubber(made)
            stubber.add_response("describe_stacks", response, {"StackName": "mesh-rollout"})
            stubber.activate()
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return "mesh-rollout"


def write(tmp_path: Path, execution_input: dict[str, Any]) -> str:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(execution_input))
    return str(path)


def test_start_follow_prints_the_states_and_exits_0_on_success(
    shift_account: OfflineAccount, deployed_stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = deployed_stack
    tick = json.loads((EVENTS / "weight-shift-step.json").read_text())
    code = main(["start", SM, "--input", write(tmp_path, tick), "--stack", stack, "--follow"])
    out = capsys.readouterr().out
    assert code == 0
    assert "started arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:cli-" in out
    lines = [line for line in out.splitlines() if line.startswith("  -> ")]
    assert lines[:3] == [
        "  -> PlanWeightShift  route apps/serviceB/serviceB at serviceB 75 / serviceBv2 25; steps 50%",
        "  -> AcquireRouteLock  lock appmesh:apps/serviceB/serviceB taken",
        "  -> TakeSnapshot  route at serviceB 75 / serviceBv2 25",
    ]
    gated = "  -> CheckHealthBeforeStep  HEALTHY: alarm serviceBv2-5xx OK; ECS service apps/serviceBv2: 2/2 tasks running"
    applied = "  -> ApplyStepGatedBefore  step 50%  wrote serviceB 50 / serviceBv2 50"
    assert lines.index(gated) < lines.index(applied)  # step mode: gated before the step
    assert lines[-1].startswith("  -> Done  SUCCEEDED: weight shift succeeded") and "  == SUCCEEDED" in out
    assert out.rstrip().endswith(": SUCCEEDED")


def test_start_follow_exits_1_when_the_rollout_rolls_back(
    shift_account: OfflineAccount, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shift_account.client("cloudwatch").set_alarm_state(AlarmName="serviceBv2-5xx", StateValue="ALARM", StateReason="5xx")
    arn = shift_account.state_machine_arns[SM]
    tick = json.loads((EVENTS / "weight-shift-step.json").read_text())
    code = main(["start", SM, "--input", write(tmp_path, tick), "--state-machine-arn", arn, "--follow"])
    out = capsys.readouterr().out
    assert code == 1
    assert "  -> RestoreRoute" in out and ": FAILED" in out
    assert "cause: before the next step: UNHEALTHY: alarm serviceBv2-5xx is in ALARM (5xx)" in out


def test_start_without_follow_returns_at_once(
    shift_account: OfflineAccount, deployed_stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tick = json.loads((EVENTS / "weight-shift-step.json").read_text())
    assert main(["start", SM, "--input", write(tmp_path, tick), "--stack", deployed_stack]) == 0
    assert capsys.readouterr().out.startswith("started arn:aws:states:")


def test_status_shows_route_steps_and_the_waiting_approval(
    shift_account: OfflineAccount, shift_input: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    shown: list[str] = []

    def look(pending: PendingApproval) -> tuple[bool, str]:
        sfn = shift_account.client("stepfunctions")
        (running,) = sfn.list_executions(stateMachineArn=shift_account.state_machine_arns[SM], statusFilter="RUNNING")[
            "executions"
        ]
        main(["status", running["executionArn"]])
        shown.append(capsys.readouterr().out)
        return True, "ok"

    result = shift_account.run(SM, shift_input, approver=look)
    (out,) = shown
    assert "  status: RUNNING" in out
    assert "  route apps/serviceB/serviceB: serviceB 50 / serviceBv2 50" in out
    assert "  canary serviceBv2: steps [50, 100], applied [50] (started at 25%)" in out
    assert "  waiting for approval of the step to 100% on route apps/serviceB/serviceB" in out
    main(["status", result.execution_arn])
    after = capsys.readouterr().out
    assert "  status: SUCCEEDED" in after and "route apps/serviceB/serviceB: serviceBv2 100" in after


def test_start_follow_shows_each_ecs_services_execution(
    account: OfflineAccount, scenario: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = account.state_machine_arns["MeshRolloutStateMachine"]
    code = main(
        ["start", "MeshRolloutStateMachine", "--input", write(tmp_path, scenario), "--state-machine-arn", arn, "--follow"]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    for service, family in (("serviceA", "taskA"), ("serviceB", "taskB"), ("serviceBv2", "taskBv2")):
        assert f"  [apps/{service}] -> UpdateService  deploying {family}:2" in out
        assert out.index(f"  [apps/{service}] -> OnMesh  updated, {family}:2") < out.index(
            f"  -> RolloutEcsService  apps/{service}  updated, {family}:2"
        )
    assert out[-2] == "  == SUCCEEDED" and out[-1].endswith(": SUCCEEDED")
