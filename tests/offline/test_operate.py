"""Operating rollouts from the CLI: `status [--watch]`, `abort`, `list`, the approval prompt and Ctrl-C.

The AWS commands run against the emulated endpoint (the account's clients answer them); a weight shift waiting
for its approval is a rollout in progress that the tests look at from inside the approver."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local import rollouts
from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT
from tests.support import Backend, handle, run_local, status_change_event

SM = "WeightShiftStateMachine"


def ours(out: str) -> list[str]:
    """The CLI's lines, without the handlers' own (Powertools' metrics and logs, on stdout in tests)."""
    return [line for line in out.splitlines() if not line.startswith("{")]


def lock_table(account: OfflineAccount) -> str:
    return account.environment("AcquireRouteLockFunction")["ROUTE_LOCK_TABLE"]


def test_status_reads_the_route_of_every_backend_and_shows_the_approval_waited_on(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []

    def look(pending: PendingApproval) -> tuple[bool, str]:
        running = backend.account.client("stepfunctions").list_executions(
            stateMachineArn=backend.account.state_machine_arns[SM], statusFilter="RUNNING"
        )["executions"][0]["executionArn"]
        assert main(["status", running]) == 0
        seen.append(capsys.readouterr().out)
        return True, "seen"

    assert backend.account.run(SM, backend.shift_input(), approver=look).status == "SUCCEEDED"
    (out,) = seen
    lines = ours(out)
    assert lines[1].startswith("  status: RUNNING (started ")
    now = " / ".join(f"{name} {weight}" for name, weight in backend.w(50, 50).items())
    before = " / ".join(f"{name} {weight}" for name, weight in backend.w(75, 25).items())
    after = " / ".join(f"{name} {weight}" for name, weight in backend.w(0, 100).items())
    assert f"  route {backend.label}: {now}" in lines
    assert f"  before the shift: {before}" in lines
    assert f"  canary {backend.canary}: steps [50, 100], applied [50] (started at 25%)" in lines
    assert f"  waiting for approval of the step to 100% on route {backend.label}: {now} -> {after}" in lines
    assert any(line.startswith("  last gate verdict: HEALTHY: alarm ") for line in lines)


def test_list_shows_the_rollout_holding_a_route_and_nothing_once_it_ended(
    shift_account: OfflineAccount, shift_input: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    table = lock_table(shift_account)
    listed: list[str] = []

    def look(pending: PendingApproval) -> tuple[bool, str]:
        assert main(["list", "--table", table]) == 0
        listed.append(capsys.readouterr().out)
        return True, ""

    done = shift_account.run(SM, shift_input, approver=look)
    assert done.status == "SUCCEEDED"
    header, row = ours(listed[0])
    assert header.split() == ["route", "status", "where", "execution"]
    assert row.split()[:6] == ["appmesh:apps/serviceB/serviceB", "RUNNING", "waiting", "approval", "of", "100%"]
    # two steps of a 5 min bake and up to 10 gate re-checks a minute apart, the 24 h approval, 1 h margin: 25.5 h
    assert f" {done.execution_arn} (lock expires in 25.5 h)" in row
    assert main(["list", "--table", table]) == 0
    assert ours(capsys.readouterr().out) == [f"no rollout in progress (route-lock table {table} holds no lock)"]


def test_abort_stops_the_shift_and_waits_until_the_status_change_handler_restored_the_route(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, sfn = io.StringIO(), shift_account.client("stepfunctions")
    polls: list[dict[str, int]] = []

    def eventbridge_delivers(seconds: float) -> None:
        """What AWS does while `abort` waits: once the execution is ABORTED, EventBridge delivers the status change
        to our function. (The emulator marks a stopped execution ABORTED when its interpreter thread has ended.)"""
        import time

        deadline = time.monotonic() + 60  # a guard against a hang, not a measurement
        while sfn.describe_execution(executionArn=stopped[0])["status"] != "ABORTED":
            assert time.monotonic() < deadline, "the stopped execution never ended"
            time.sleep(0.01)
        polls.append(rollouts.route_weights(shift_account.session, facts_route))
        event = status_change_event(stopped[0], shift_account.state_machine_arns[SM], "ABORTED")
        handle(shift_account, event, monkeypatch)

    facts_route: dict[str, Any] = {}
    cause = "aborted by arn:aws:sts::123456789012:user/moto: 5xx on checkout"
    aborted: list[bool] = []
    stopped: list[str] = []

    def abort_instead_of_answering(pending: PendingApproval) -> None:
        (running,) = sfn.list_executions(stateMachineArn=shift_account.state_machine_arns[SM], statusFilter="RUNNING")[
            "executions"
        ]
        stopped.append(running["executionArn"])
        facts_route.update(rollouts.read_facts(sfn, running["executionArn"]).route or {})
        aborted.append(
            rollouts.abort(shift_account.session, running["executionArn"], "5xx on checkout", out, sleep=eventbridge_delivers)
        )

    sent_stops: list[dict[str, Any]] = []
    shift_account.session.events.register(  # type: ignore[union-attr]
        "before-call.sfn.StopExecution", lambda params, **kwargs: sent_stops.append(json.loads(params["body"]))
    )
    result = shift_account.run(SM, shift_input, approver=abort_instead_of_answering)
    assert (result.status, aborted) == ("ABORTED", [True])
    assert polls == [{"serviceB": 50, "serviceBv2": 50}]  # the first read found the shift's weights; the second, the snapshot
    assert out.getvalue().splitlines() == [
        f"stopped {result.execution_arn} in RequestGroupApproval ({cause})",
        "  waiting for ExecutionStatusChange to restore route apps/serviceB/serviceB to serviceB 75 / serviceBv2 25",
        "  route apps/serviceB/serviceB restored: serviceB 75 / serviceBv2 25",
    ]
    # what AWS was asked: the emulator keeps no cause of a stopped execution (AWS has it in ExecutionAborted)
    assert sent_stops == [{"executionArn": result.execution_arn, "error": rollouts.ABORT_ERROR, "cause": cause}]
    items = shift_account.client("dynamodb").scan(TableName=lock_table(shift_account))["Items"]
    assert [item for item in items if "owner" in item] == []  # no lock (a release leaves a record, no owner)


def test_abort_of_an_ended_execution_changes_nothing(
    shift_account: OfflineAccount, shift_input: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    done = shift_account.run(SM, shift_input, approver=lambda pending: (True, ""))
    assert main(["abort", done.execution_arn, "--no-wait"]) == 0
    out = ours(capsys.readouterr().out)
    assert out[0] == f"{done.execution_arn} already ended: SUCCEEDED; nothing stopped"
    assert out[1] == "  not waiting: ExecutionStatusChange puts route apps/serviceB/serviceB back to serviceB 75 / serviceBv2 25"
    sfn = shift_account.client("stepfunctions")
    assert sfn.describe_execution(executionArn=done.execution_arn)["status"] == "SUCCEEDED"


def test_status_watch_prints_each_change_until_the_execution_ends(
    shift_account: OfflineAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    tick = (EVENTS / "weight-shift-step.json").read_text()  # step mode: one step, no approval
    sfn = shift_account.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=shift_account.state_machine_arns[SM], input=tick)["executionArn"]
    assert main(["status", arn, "--watch", "--interval", "0.05"]) == 0
    out = capsys.readouterr().out
    blocks = [block for block in out.split("--- ")[1:] if block]
    assert blocks and all(block.split("\n", 1)[0].endswith(" UTC") for block in blocks)
    assert "  status: SUCCEEDED (started " in blocks[-1]
    assert "  route apps/serviceB/serviceB: serviceB 50 / serviceBv2 50" in blocks[-1]
    assert len(set(blocks)) == len(blocks)  # a block only when something changed


class Terminal(io.StringIO):
    """What a person types at the approval prompt."""

    def isatty(self) -> bool:
        return True


def test_the_approval_prompt_shows_weights_and_verdict_asks_again_and_takes_a_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("maybe\ny\nlooks good at 50\n"))
    dump = tmp_path / "dump.json"
    code, printed = run_local(tmp_path, capsys, "--dump", str(dump))  # the guide's shift, approval before 100%
    out = "\n".join(ours(printed))
    assert code == 0
    prompt = out[out.index("     ? approval for") :].splitlines()[:6]
    assert prompt == [
        "     ? approval for the step to 100% on route apps/serviceB/serviceB",
        "       weights: serviceB 50 / serviceBv2 50 -> serviceB 0 / serviceBv2 100",
        "       health:  HEALTHY: alarm serviceBv2-5xx OK; ECS service apps/serviceBv2: 2/2 tasks running",
        "       approve? [y/n]        'maybe' is neither yes nor no",
        "       approve? [y/n]        comment (optional): " + prompt[4].split("comment (optional): ", 1)[1],
        prompt[5],
    ]
    decision = json.loads(dump.read_text())["output"]["steps"][1]["decision"]
    assert (decision["approved"], decision["comment"]) == (True, "looks good at 50")


def test_ctrl_c_stops_the_run_writes_the_dump_says_where_it_stopped_and_exits_130(tmp_path: Path) -> None:
    """The real signal, to the real command: the run waits in its bake (--real-time) when Ctrl-C comes. The ALB
    world is made of API calls only (the App Mesh one runs a mesh rollout, which --real-time would make wait)."""
    dump = tmp_path / "dump.json"
    command = [
        str(Path(sys.executable).parent / "mesh-rollout"),
        "local",
        SM,
        "--real-time",
        "--approve",
        "--input",
        str(EVENTS / "weight-shift-alb.json"),
        "--given",
        str(EVENTS / "local" / "alb-given.json"),
        "--template",
        str(ROOT / "template.yaml"),
        "--dump",
        str(dump),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the bake waits 300 s: the run is there until the signal comes
            lines.append(line.rstrip("\n"))
            if "BakeLegs" in line:
                process.send_signal(signal.SIGINT)
                break
        rest, err = process.communicate(timeout=120)
    lines += rest.splitlines()
    assert process.returncode == 130, (lines, err)
    assert err == ""
    assert "  ^C: stopping the execution (Ctrl-C again to quit at once)" in lines
    assert "run 1: ABORTED" in "\n".join(lines)
    (stopped,) = [line for line in lines if line.startswith("  interrupted in ")]
    assert stopped.startswith(
        "  interrupted in BakeLegs; route apps:80/rule 10 left at serviceB 50 / serviceBv2 50 (before the shift: "
        "serviceB 75 / serviceBv2 25), lock alb:arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/apps/"
    )
    assert stopped.endswith(" held; on AWS, ExecutionStatusChange restores the route and frees the lock after a stop")
    assert lines[-1] == f"dump written to {dump}"
    document = json.loads(dump.read_text())
    assert document["status"] == "ABORTED"
    assert document["states"][0][-1] == "BakeLegs"


def test_a_malformed_execution_arn_is_refused_before_any_call(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["approve", "not-an-arn"], ["status", "arn:aws:states:us-west-2:123:execution:x:y"], ["abort", "x"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mesh-rollout: argument EXECUTION_ARN: '{command[1]}' is not an execution ARN ")
        assert err.count("\n") == 1


@pytest.fixture
def no_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No Region anywhere boto3 or the CLI looks: environment, profile, AWS config file."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    return monkeypatch


def test_start_without_a_region_says_where_one_comes_from(
    capsys: pytest.CaptureFixture[str], no_region: pytest.MonkeyPatch
) -> None:
    monkeypatch = no_region
    code = main(["start", SM, "--input", str(EVENTS / "weight-shift-apps.json"), "--stack", "mesh-rollout"])
    assert (code, capsys.readouterr().err) == (
        2,
        "mesh-rollout: no AWS Region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION\n",
    )
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # what the README says is honoured; boto3 alone reads only AWS_DEFAULT_REGION
    from mesh_rollout_local.cli import aws_session, parser

    assert aws_session(parser().parse_args(["start", SM, "--input", "x", "--stack", "s"])).region_name == "eu-west-1"


def test_a_failed_run_prints_its_error_and_cause_and_nothing_of_the_emulator_unless_debug(tmp_path: Path) -> None:
    """The interpreter logs every error it catches (about 33 KB for a failed run, before): silent without --debug."""
    bad = tmp_path / "shift.json"
    bad.write_text(json.dumps({**json.loads((EVENTS / "weight-shift-apps.json").read_text()), "canary": "nosuch"}))
    command = [
        str(Path(sys.executable).parent / "mesh-rollout"),
        "local",
        SM,
        "--input",
        str(bad),
        "--given",
        str(EVENTS / "local" / "weight-shift-given.json"),
        "--template",
        str(ROOT / "template.yaml"),
    ]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert (quiet.returncode, quiet.stderr) == (1, "")
    assert "  error: UnknownReference\n  cause: canary: virtual node 'nosuch' does not exist\n" in quiet.stdout
    debug = subprocess.run([*command, "--debug"], capture_output=True, text=True, timeout=300, check=False)
    assert debug.returncode == 1
    assert " moto.stepfunctions.parser." in debug.stderr and "Exception=" in debug.stderr


def test_ctrl_c_while_following_leaves_the_execution_running_and_says_how_to_reach_it(
    shift_account: OfflineAccount, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh_rollout_local import remote

    def interrupted(*args: Any, **kwargs: Any) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(remote, "follow", interrupted)
    arn = shift_account.state_machine_arns[SM]
    tick = tmp_path / "tick.json"
    tick.write_text((EVENTS / "weight-shift-step.json").read_text())
    assert main(["start", SM, "--input", str(tick), "--state-machine-arn", arn, "--follow"]) == 130
    started, _, stopped = ours(capsys.readouterr().out)
    execution = started.removeprefix("started ")
    assert stopped == f"stopped following; the execution goes on: mesh-rollout status|abort {execution}"


def test_abort_of_a_mesh_rollout_stops_the_service_executions_it_started(capsys: pytest.CaptureFixture[str]) -> None:
    """Each service deploys in a child execution; an aborted rollout leaves none of them running."""
    import time

    from mesh_rollout_local.scenarios import mesh_of

    # Deployments that stay IN_PROGRESS, checked in real time (the deployment gate waits between checks, and gives
    # up after its most checks): the services' executions run until they are stopped, however slow the machine.
    rollout, given = mesh_of(2, in_progress_checks=100_000)
    with OfflineAccount(ROOT / "template.yaml", real_time=True) as account:
        account.apply_given(given)
        sfn = account.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=account.state_machine_arns["MeshRolloutStateMachine"], input=json.dumps(rollout)
        )["executionArn"]
        child_machine = account.state_machine_arns["EcsServiceRolloutStateMachine"]
        deadline = time.monotonic() + 120  # a guard against a hang, not a measurement

        def started() -> bool:
            """Both services' executions run, and the rollout's history has recorded starting them (the event
            follows the StartExecution call: a run seen in the list may not be in the history yet)."""
            running = sfn.list_executions(stateMachineArn=child_machine, statusFilter="RUNNING")["executions"]
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            return len(running) == 2 and rollouts.child_counts(history).get("started") == 2

        while not started():
            assert time.monotonic() < deadline, "the services' executions never started"
            time.sleep(0.05)
        assert main(["status", arn]) == 0
        assert "  services: 2 started, 0 rolled out, 0 failed, 2 in progress" in ours(capsys.readouterr().out)
        assert main(["abort", arn, "--reason", "wrong image"]) == 0
        out = ours(capsys.readouterr().out)
        assert out[0].startswith(f"stopped {arn} in ")
        assert out[0].endswith(" (aborted by arn:aws:sts::123456789012:user/moto: wrong image)")
        stopped = sorted(line.removeprefix("  stopped ").removesuffix(", started by it") for line in out[1:3])
        children = sfn.list_executions(stateMachineArn=child_machine)["executions"]
        assert stopped == sorted(c["executionArn"] for c in children)
        assert out[3:] == ["  nothing to restore: it drives no route"]
        ended = [arn, *stopped]
        while any(sfn.describe_execution(executionArn=e)["status"] == "RUNNING" for e in ended):  # the stops take
            assert time.monotonic() < deadline, "a stopped execution kept running"
            time.sleep(0.05)
        assert {sfn.describe_execution(executionArn=e)["status"] for e in ended} == {"ABORTED"}


def test_start_takes_the_region_of_the_state_machine_arn_and_refuses_one_that_is_not(
    capsys: pytest.CaptureFixture[str], no_region: pytest.MonkeyPatch
) -> None:
    from mesh_rollout_local.cli import aws_session, parser

    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:WeightShiftStateMachine"
    assert aws_session(parser().parse_args(["start", SM, "--input", "x", "--state-machine-arn", arn])).region_name == "eu-west-1"
    assert main(["start", SM, "--input", "x", "--state-machine-arn", "WeightShiftStateMachine"]) == 2
    assert capsys.readouterr().err.startswith(
        "mesh-rollout: argument --state-machine-arn: 'WeightShiftStateMachine' is not a state machine ARN "
    )


def test_after_ctrl_c_a_waiting_task_is_not_reported_as_timed_out() -> None:
    """The emulator ends a task that waited (an approval) with States.Timeout when its execution is stopped; AWS
    records no failure for a stop, and the progress lines say none."""
    from mesh_rollout_local.cli import _event_printer

    now = dt.datetime.now(dt.UTC)
    entered = {"name": "RequestGroupApproval", "input": "{}"}
    timed_out = {"resourceType": "lambda", "resource": "invoke.waitForTaskToken", "error": "States.Timeout"}
    events = [
        {"type": "TaskStateEntered", "id": 1, "previousEventId": 0, "timestamp": now, "stateEnteredEventDetails": entered},
        {"type": "TaskTimedOut", "id": 2, "previousEventId": 1, "timestamp": now, "taskTimedOutEventDetails": timed_out},
    ]
    printed = {}
    for stopping in (False, True):
        out = io.StringIO()
        printer = _event_printer(out, lambda stopping=stopping: stopping)
        for event in events:
            printer(event)
        printed[stopping] = out.getvalue().splitlines()
    assert printed[False] == ["  -> RequestGroupApproval", "     ! States.Timeout: "]
    assert printed[True] == ["  -> RequestGroupApproval"]
