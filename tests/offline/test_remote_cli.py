"""`mesh-rollout start --follow` and `mesh-rollout status`, against the emulated AWS endpoint."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT, load_json

SM = "WeightShiftStateMachine"


@pytest.fixture
def deployed_stack(shift_account: OfflineAccount, monkeypatch: pytest.MonkeyPatch) -> str:
    return stack_of(shift_account, monkeypatch)


def stack_of(account: OfflineAccount, monkeypatch: pytest.MonkeyPatch) -> str:
    """A stack whose DescribeStacks outputs are those `sam deploy` gives, answered by a botocore Stubber
    (moto's CloudFormation needs packages this project does not install); every other client is the emulator's."""
    import boto3
    from botocore.stub import Stubber

    outputs = [{"OutputKey": f"{name}Arn", "OutputValue": arn} for name, arn in account.state_machine_arns.items()]
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
        "  -> AcquireGroupLocks  lock appmesh:apps/serviceB/serviceB taken",
        "  -> SnapshotLegs  route at serviceB 75 / serviceBv2 25",
    ]
    gated = "  -> CheckLegsBeforeStep  HEALTHY: alarm serviceBv2-5xx OK; ECS service apps/serviceBv2: 2/2 tasks running"
    applied = "  -> MoveLegsGatedBefore  step 50%  wrote serviceB 50 / serviceBv2 50"
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
    assert "  -> RestoreLegs" in out and ": FAILED" in out
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


ECS_SM = "EcsDeploymentStateMachine"


@pytest.fixture
def ecs_account() -> Iterator[OfflineAccount]:
    """checkout on checkout:1 behind an ALB rule (checkout-blue 100 / checkout-green 0), ECS's LINEAR 20 %."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as account:
        account.apply_given(load_json(EVENTS / "local" / "ecs-deployment-alb-given.json"), EVENTS / "local")
        yield account


def test_start_follows_an_ecs_deployment_by_name_with_target_group_names(
    ecs_account: OfflineAccount, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the stack's EcsDeploymentStateMachineArn output and the ALB input without its approval
    stack = stack_of(ecs_account, monkeypatch)
    deployment = {k: v for k, v in load_json(EVENTS / "ecs-deployment-alb.json").items() if k != "approval"}
    # When it is started by name and followed
    code = main(["start", ECS_SM, "--input", write(tmp_path, deployment), "--stack", stack, "--follow"])
    out = capsys.readouterr().out
    # Then each read and each answer names the target groups, their weights and ECS's stage
    assert code == 0, out
    assert "started arn:aws:states:us-west-2:123456789012:execution:EcsDeploymentStateMachine:cli-" in out
    lines = [line for line in out.splitlines() if line.startswith("  -> ")]
    assert "  -> AcquireServiceLock  lock ecs:apps/checkout taken" in lines
    assert "  -> ReadDeployment  checkout-blue 80, checkout-green 20 (PRE_PRODUCTION_TRAFFIC_SHIFT)" in lines
    assert "  -> ContinueDeployment  CONTINUE at checkout-blue 80, checkout-green 20 (PRE_PRODUCTION_TRAFFIC_SHIFT)" in lines
    assert not [line for line in lines if "arn:aws:elasticloadbalancing" in line]
    assert any(line.startswith("  -> FinishSucceeded  SUCCEEDED: ") and line.endswith(", lock released") for line in lines)
    assert out.rstrip().endswith(": SUCCEEDED")


def test_status_list_and_approve_of_an_ecs_deployment_waiting_before_100(
    ecs_account: OfflineAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    sfn = ecs_account.client("stepfunctions")
    table = ecs_account.environment("AcquireRouteLockFunction")["ROUTE_LOCK_TABLE"]
    seen: list[str] = []
    codes: list[int] = []

    def look(pending: PendingApproval) -> None:
        (running,) = sfn.list_executions(stateMachineArn=ecs_account.state_machine_arns[ECS_SM], statusFilter="RUNNING")[
            "executions"
        ]
        for command in (["status", running["executionArn"]], ["list", "--table", table]):
            codes.append(main(command))
            seen.append(capsys.readouterr().out)
        codes.append(main(["approve", running["executionArn"], "--comment", "dashboards fine"]))
        seen.append(capsys.readouterr().out)
        return None  # answered by the CLI

    # When the deployment waits for its approval before 100 %, `status`, `list` and `approve` are run
    done = ecs_account.run(ECS_SM, load_json(EVENTS / "ecs-deployment-alb.json"), approver=look)
    assert (done.status, codes) == ("SUCCEEDED", [0, 0, 0])
    status, listed, approved = ([line for line in out.splitlines() if not line.startswith("{")] for out in seen)
    # Then status shows ECS's stage, the production weights, the steps judged and the approval waited on
    assert "  ECS deployment of apps/checkout: LINEAR 20% -> 40% -> 60% -> 80% -> 100%, approval before 100%" in status
    assert "  ECS stage: PRE_PRODUCTION_TRAFFIC_SHIFT (PAUSED, IN_PROGRESS)" in status
    assert "  production: checkout-blue 20, checkout-green 80 (80% on the new revision)" in status
    judged = [line for line in status if line.startswith("  step ")]
    assert [line.split(":")[0] for line in judged] == [
        f"  step {percent}% at PRE_PRODUCTION_TRAFFIC_SHIFT" for percent in (0, 20, 40, 60)
    ]
    assert all(": CONTINUE, HEALTHY" in line for line in judged)
    assert (
        "  waiting for approval of the step to 100% of ECS deployment apps/checkout: "
        "checkout-blue 20, checkout-green 80 (PRE_PRODUCTION_TRAFFIC_SHIFT)"
    ) in status
    # list: the service's lock by its name, waiting before 100 %
    assert listed[1].split()[:6] == ["ecs:apps/checkout", "RUNNING", "waiting", "approval", "of", "100%"]
    # approve: the step named, the caller recorded
    assert any(line.startswith("approved the step to 100% of ECS deployment apps/checkout as arn:aws:sts::") for line in approved)


def test_abort_of_an_ecs_deployment_says_ecs_is_rolled_back_by_the_status_change_function(
    ecs_account: OfflineAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    sfn = ecs_account.client("stepfunctions")
    codes: list[int] = []

    def abort_instead(pending: PendingApproval) -> None:
        (running,) = sfn.list_executions(stateMachineArn=ecs_account.state_machine_arns[ECS_SM], statusFilter="RUNNING")[
            "executions"
        ]
        codes.append(main(["abort", running["executionArn"], "--reason", "5xx on checkout"]))
        return None

    # When the deployment waiting before 100 % is aborted
    stopped = ecs_account.run(ECS_SM, load_json(EVENTS / "ecs-deployment-alb.json"), approver=abort_instead)
    out = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    # Then the execution is stopped and abort says who rolls ECS back (no route to restore, nothing waited for)
    assert (stopped.status, codes) == ("ABORTED", [0])
    assert out[0].startswith(f"stopped {stopped.execution_arn} in RequestApproval (aborted by arn:aws:sts::")
    assert out[1].startswith("  ECS deployment of apps/checkout (arn:aws:ecs:us-west-2:123456789012:service-deployment/")
    assert "the ExecutionStatusChange function rolls it back" in out[1] and "route" not in out[1]
    assert out[1].endswith(
        "frees lock ecs:arn:aws:ecs:us-west-2:123456789012:service/apps/checkout; its notification says how it ended"
    )
    assert out[2].startswith("    aws ecs describe-service-deployments --service-deployment-arns arn:aws:ecs:")


def test_profile_reaches_the_session_as_the_aws_clis_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mesh_rollout_local.cli import aws_session, parser

    # Given a config file with a named profile (its own Region and keys)
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = eu-central-1\naws_access_key_id = OPSKEY\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # When a verb that calls AWS is given --profile, its session is the profile's: its keys, its Region
    session = aws_session(parser().parse_args(["list", "--table", "locks", "--profile", "ops"]))
    assert (session.profile_name, session.region_name) == ("ops", "eu-central-1")
    assert session.get_credentials().access_key == "OPSKEY"
    # --region and an execution ARN's Region still win over the profile's
    arn = "arn:aws:states:us-east-2:123456789012:execution:WeightShiftStateMachine:x"
    assert aws_session(parser().parse_args(["status", arn, "--profile", "ops"])).region_name == "us-east-2"
    # Then a profile the files do not have is one line, exit 2
    assert main(["list", "--table", "locks", "--profile", "nosuch"]) == 2


def document(out: str) -> Any:
    """The JSON document --output json printed (indented, as the AWS CLI's), among the handlers' one-line logs."""
    lines = out.splitlines()
    start = lines.index("{")
    return json.loads("\n".join(lines[start : lines.index("}", start) + 1]))


def test_output_json_prints_what_status_list_and_approve_say_as_one_document(
    shift_account: OfflineAccount,
    shift_input: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a profile whose keys the emulator accepts, and a weight shift waiting for its approval before 100 %
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = us-west-2\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    table = shift_account.environment("AcquireRouteLockFunction")["ROUTE_LOCK_TABLE"]
    documents: list[Any] = []

    def look(pending: PendingApproval) -> None:
        sfn = shift_account.client("stepfunctions")
        (running,) = sfn.list_executions(stateMachineArn=shift_account.state_machine_arns[SM], statusFilter="RUNNING")[
            "executions"
        ]
        arn = running["executionArn"]
        for command in (["status", arn], ["list", "--table", table], ["approve", arn, "--comment", "fine"]):
            assert main([*command, "--output", "json", "--profile", "ops"]) == 0
            documents.append(document(capsys.readouterr().out))
        return None  # answered by the CLI

    # When status, list and approve are run with --output json (and --profile)
    done = shift_account.run(SM, shift_input, approver=look)
    # Then each prints one JSON document with what its text says
    assert done.status == "SUCCEEDED"
    status, listed, approved = documents
    assert status["executionArn"] == done.execution_arn and status["status"] == "RUNNING"
    assert status["weights"] == {"serviceB": 50, "serviceBv2": 50} and status["applied"] == [50]
    assert status["pendingApproval"]["step"] == "the step to 100% on route apps/serviceB/serviceB"
    assert [row["executionArn"] for row in listed["rollouts"]] == [done.execution_arn]
    assert listed["rollouts"][0]["status"] == "RUNNING" and listed["rollouts"][0]["where"] == "waiting approval of 100%"
    assert approved["approved"] is True and approved["comment"] == "fine"
    # and status after the end, as describe-execution prints it: JSON with ISO timestamps
    assert main(["status", done.execution_arn, "--output", "json"]) == 0
    after = document(capsys.readouterr().out)
    assert after["status"] == "SUCCEEDED" and after["weights"] == {"serviceBv2": 100}
    assert dt.datetime.fromisoformat(after["startDate"]).tzinfo is not None
