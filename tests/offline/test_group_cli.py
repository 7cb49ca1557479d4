"""The CLI and a group of legs (issue 25), on the README's three-leg group (examples/shop-group.json: Lattice legs
payments and checkout after it, ALB leg frontend; steps 10, 50, 100, approval before 100): the progress lines of an
offline run (every leg under its state), the approval (`mesh-rollout approve`, the prompt), `status` and `abort`.

Each world is built once for the module and its runs are made by the module's fixtures, the tests looking at what
they printed: in the healthy world a group aborted at its approval (its legs then put back and its locks freed by
hand, as the ExecutionStatusChange function does after a stop), then the same group approved with the CLI; in the
world where frontend fails the judge at 50 %, the group rolled back."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from mesh_rollout_local import rollouts
from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.cli import main
from mesh_rollout_local.commands.prompt import ask
from mesh_rollout_local.history import read_all
from mesh_rollout_local.progress import Progress
from mesh_rollout_local.runner import OfflineAccount, RunResult
from tests.conftest import ROOT
from tests.support import given_world

pytestmark = pytest.mark.xdist_group("test_group_cli")

SM = "WeightShiftStateMachine"
EXAMPLES = ROOT / "examples"
LEGS = ("payments", "checkout", "frontend")
ROUTES = {
    "payments": "payments/http-80/payments",
    "checkout": "checkout/http-80/checkout",
    "frontend": "shop-frontend:80/rule 10",
}
GROUP = "payments, checkout, frontend"


def weights(leg: str, canary: int) -> str:
    return f"{leg} {100 - canary} / {leg}v2 {canary}"


@dataclass
class Run:
    """One run of the group and what the CLI printed during and after it."""

    result: RunResult
    lines: list[str]  # the progress lines `mesh-rollout local` prints
    pending: list[PendingApproval] = field(default_factory=list)
    said: dict[str, str] = field(default_factory=dict)  # command -> what it printed (its own lines)
    codes: dict[str, int] = field(default_factory=dict)


def ours(out: str) -> list[str]:
    """The CLI's lines, without the handlers' own (Powertools' metrics and logs, on stdout in tests)."""
    return [line for line in out.splitlines() if not line.startswith("{")]


def world(given: str) -> contextlib.AbstractContextManager[OfflineAccount]:
    """An example's world. One at a time: the emulated account is the process's (moto's), so each fixture of the
    module runs its world's runs, keeps what they printed, and ends its world before the next is built."""
    return given_world(EXAMPLES / given)


def cli_approver(
    account: OfflineAccount, said: dict[str, str], codes: dict[str, int], pending: list[PendingApproval]
) -> Callable[[PendingApproval], None]:
    """An approver that, at the approval, asks `status` (text and json) then answers `approve` with the CLI, keeping
    each command's exit code and output under its name ("status", "status --output json", "approve --comment ok")."""

    def approve(asked: PendingApproval) -> None:
        arn = running(account)
        pending.append(asked)
        for command in (["status", arn], ["status", arn, "--output", "json"], ["approve", arn, "--comment", "ok"]):
            key = " ".join(command[:1] + command[2:])
            codes[key], said[key] = cli(*command)
        return None  # answered by the CLI

    return approve


def cli(*command: str) -> tuple[int, str]:
    """`mesh-rollout COMMAND` against the emulated account: its exit code and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(command))
    return code, out.getvalue()


def run_group(account: OfflineAccount, approver: Any = None) -> Run:
    progress, lines = Progress(), []
    execution_input = account.resolve_input((EXAMPLES / "shop-group.json").read_text())
    result = account.run(SM, execution_input, on_event=lambda e: lines.extend(progress.lines(e)), approver=approver)
    return Run(result, lines)


def running(account: OfflineAccount) -> str:
    sfn = account.client("stepfunctions")
    (execution,) = sfn.list_executions(stateMachineArn=account.state_machine_arns[SM], statusFilter="RUNNING")["executions"]
    return str(execution["executionArn"])


def put_back(account: OfflineAccount, arn: str) -> None:
    """What the ExecutionStatusChange function does after a group's stop (functions/mesh_rollout/shifting/cleanup.py,
    not this module's subject): every leg back to its snapshot (the rule's action as SnapshotLegs read it), every
    lock freed."""
    facts = rollouts.read_facts(account.client("stepfunctions"), arn)
    history = read_all(account.client("stepfunctions"), arn)
    snapshots = next(
        json.loads(e["stateExitedEventDetails"]["output"])["snapshotted"]["snapshots"]
        for e in history
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "SnapshotLegs"
    )
    for leg, snapshot in zip(facts.legs, snapshots, strict=True):
        route = leg.route
        if route["backend"] == "alb":
            account.client("elbv2").modify_rule(RuleArn=route["ruleArn"], Actions=snapshot["actions"])
        else:
            account.client("vpc-lattice").update_rule(
                serviceIdentifier=route["service"],
                listenerIdentifier=route["listener"],
                ruleIdentifier=route["rule"],
                action=snapshot["action"],
            )
    table = account.environment("AcquireRouteLockFunction")["ROUTE_LOCK_TABLE"]
    for lock_id in facts.lock_ids:
        account.client("dynamodb").delete_item(TableName=table, Key={"lockId": {"S": lock_id}})


@pytest.fixture(scope="module")
def healthy() -> tuple[Run, Run]:
    """The healthy world: the group aborted at its approval (and put back), then approved with the CLI."""
    with world("shop-group-given.json") as account:
        said: dict[str, str] = {}
        codes: dict[str, int] = {}
        pending: list[PendingApproval] = []

        def abort(asked: PendingApproval) -> None:
            arn, out = running(account), io.StringIO()

            def clean_up_meanwhile(seconds: float) -> None:  # what AWS does while `abort` waits
                codes["polls"] = codes.get("polls", 0) + 1
                put_back(account, arn)

            codes["restored"] = rollouts.abort(account.session, arn, "5xx on checkout", out, poll=0, sleep=clean_up_meanwhile)
            said["abort"] = out.getvalue()
            return None  # unanswered: the execution was stopped

        approve = cli_approver(account, said, codes, pending)

        aborted = run_group(account, abort)
        aborted.said, aborted.codes = {"abort": said.pop("abort")}, {k: codes.pop(k) for k in ("polls", "restored")}
        approved = run_group(account, approve)
        approved.said, approved.codes, approved.pending = said, codes, pending
        return aborted, approved


@pytest.fixture(scope="module")
def failing() -> Run:
    """The world where frontend fails the judge at 50 %: the group rolled back; then `status` and `abort` of it."""
    with world("shop-group-frontend-fails-given.json") as account:
        failed = run_group(account)
        arn = failed.result.execution_arn
        failed.codes["status"], failed.said["status"] = cli("status", arn)
        failed.codes["abort"], failed.said["abort"] = cli("abort", arn, "--no-wait")
        return failed


# --- progress -------------------------------------------------------------------------------------------------
def under(lines: list[str], state_line: str, n: int = 3) -> list[str]:
    """The n lines under the first state line that starts with `state_line`."""
    index = next(i for i, line in enumerate(lines) if line.startswith(state_line))
    return lines[index + 1 : index + 1 + n]


def test_the_plan_names_every_leg_with_its_route_weights_and_steps(healthy: tuple[Run, Run]) -> None:
    _, run = healthy
    assert run.result.status == "SUCCEEDED"
    assert run.lines[0] == (
        f"  -> PlanWeightShift  group {GROUP}: 3 legs; steps 10% -> 50% -> 100%, approval before 100%; 2 waves"
    )
    assert run.lines[1:4] == [
        f"      leg payments: route {ROUTES['payments']} at {weights('payments', 0)}; paymentsv2 10 -> 50 -> 100",
        f"      leg checkout after payments: route {ROUTES['checkout']} at {weights('checkout', 0)}; checkoutv2 10 -> 50 -> 100",
        f"      leg frontend: route {ROUTES['frontend']} at {weights('frontend', 0)}; frontendv2 10 -> 50 -> 100",
    ]
    assert "  -> AcquireGroupLocks  3 locks taken" in run.lines
    assert "  -> SnapshotLegs  3 legs snapshotted" in run.lines


def test_each_step_says_what_it_wrote_and_each_legs_verdict(healthy: tuple[Run, Run]) -> None:
    _, run = healthy
    for percent in (10, 50, 100):
        # one MoveLegs writes every route leg, wave by wave: the first wave (payments, frontend), then checkout, which
        # waits for payments
        assert under(run.lines, f"  -> MoveLegs  step {percent}%  wrote 3 legs", 3) == [
            f"      leg {leg}: wrote {weights(leg, percent)}" for leg in ("payments", "frontend", "checkout")
        ]
        judged = under(run.lines, f"  -> CheckLegs  step {percent}%  every leg HEALTHY (3)")
        assert [line.split(": ", 1)[0] for line in judged] == [f"      leg {leg}" for leg in LEGS]
        assert judged[0].startswith("      leg payments: HEALTHY: alarm paymentsv2-5xx OK")
        assert "judge: PASS" in judged[2]
    assert under(run.lines, "  -> FinalizeLegs  finalized 3 changes") == [
        f"      leg payments: removed payments from route {ROUTES['payments']}",
        f"      leg frontend: removed frontend from route {ROUTES['frontend']}",
        f"      leg checkout: removed checkout from route {ROUTES['checkout']}",
    ]
    assert under(run.lines, "  -> FinishGroup  SUCCEEDED, locks released") == [f"      leg {leg}: at {leg}v2 100" for leg in LEGS]


def test_a_failing_leg_is_named_and_every_leg_is_restored(failing: Run) -> None:
    assert failing.result.status == "FAILED"
    judged = under(failing.lines, "  -> CheckLegs  step 50%  UNHEALTHY: leg frontend")
    assert judged[0].startswith("      leg payments: HEALTHY: ")
    assert judged[1].startswith("      leg checkout: HEALTHY: ")
    assert judged[2].startswith("      leg frontend: UNHEALTHY: judge: FAIL, score 0")
    # rolled back wave by wave, in reverse order: checkout (the second wave) first
    assert under(failing.lines, "  -> RestoreLegs  1 of 1 leg restored", 1) == [
        f"      leg checkout: restored {weights('checkout', 0)}"
    ]
    assert under(failing.lines, "  -> RestoreLegs  2 of 2 legs restored", 2) == [
        f"      leg {leg}: restored {weights(leg, 0)}" for leg in ("payments", "frontend")
    ]
    assert under(failing.lines, "  -> FinishGroup  FAILED (CanaryUnhealthy), locks released") == [
        f"      leg {leg}: at {weights(leg, 0)}" for leg in LEGS
    ]


def test_a_single_routes_lines_are_unchanged() -> None:
    """A route's result has no legs: the group's lines never apply to it (test_progress.py asserts its lines)."""
    from mesh_rollout_local.progress import group_lines, task_facts

    applied = {"percent": 50, "weights": {"serviceB": 50, "serviceBv2": 50}, "changed": True, "version": 2}
    assert (task_facts(applied), group_lines(applied)) == ("wrote serviceB 50 / serviceBv2 50", [])
    finished = {"status": "SUCCEEDED", "lockReleased": True, "weights": {"serviceBv2": 100}}
    assert (task_facts(finished), group_lines(finished)) == ("SUCCEEDED, lock released", [])
    assert group_lines({"done": ["removed serviceB"], "weights": {"serviceBv2": 100}}) == []


# --- the approval ---------------------------------------------------------------------------------------------
def test_the_approval_describes_the_group_step_and_every_legs_weights(healthy: tuple[Run, Run]) -> None:
    _, run = healthy
    (pending,) = run.pending
    assert pending.describe() == f"the step to 100% of group {GROUP} (3 legs)"
    assert pending.weights_change() == "; ".join(f"leg {leg}: {weights(leg, 50)} -> {weights(leg, 100)}" for leg in LEGS)
    assert pending.verdict() == "every leg HEALTHY (3)"
    assert [name for name, _ in pending.leg_verdicts] == list(LEGS)
    assert run.codes["approve --comment ok"] == 0
    assert ours(run.said["approve --comment ok"]) == [
        f"approved the step to 100% of group {GROUP} (3 legs) as arn:aws:sts::123456789012:user/moto"
    ]
    decision = run.result.output["steps"][2]["decision"]
    assert (decision["approved"], decision["comment"]) == (True, "ok")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_prompt_shows_every_legs_route_weights_and_verdict(healthy: tuple[Run, Run]) -> None:
    _, run = healthy
    out = io.StringIO()
    assert ask(run.pending[0], "", out, Terminal("y\nfine\n")) == (True, "fine")
    shown = out.getvalue().splitlines()
    assert shown[:2] == [
        f"     ? approval for the step to 100% of group {GROUP} (3 legs)",
        "       health:  every leg HEALTHY (3)",
    ]
    for i, leg in enumerate(LEGS):
        assert shown[2 + 2 * i] == f"       leg {leg} (route {ROUTES[leg]}): {weights(leg, 50)} -> {weights(leg, 100)}"
        assert shown[3 + 2 * i].startswith(f"         health: HEALTHY: alarm {leg}v2-5xx OK")
    assert shown[8].startswith("       approve? [y/n]")


# --- status and abort -----------------------------------------------------------------------------------------
def test_status_shows_every_legs_route_weights_now_and_last_verdict(healthy: tuple[Run, Run]) -> None:
    _, run = healthy
    assert run.codes["status"] == 0
    lines = ours(run.said["status"])
    arn = run.result.execution_arn
    assert lines[:3] == [f"execution {arn}", lines[1], "  last state: RequestGroupApproval"]
    assert lines[1].startswith("  status: RUNNING (started ")
    group = lines.index(f"  group {GROUP}: 3 legs; steps [10, 50, 100], applied [10, 50]")
    for i, leg in enumerate(LEGS):
        after = " (after payments)" if leg == "checkout" else ""
        own = lines[group + 1 + 3 * i : group + 4 + 3 * i]
        assert own[:2] == [
            f"  leg {leg}{after}: route {ROUTES[leg]}: {weights(leg, 50)}",
            f"    before the group: {weights(leg, 0)}",
        ]
        assert own[2].startswith(f"    last verdict: HEALTHY: alarm {leg}v2-5xx OK")
    assert "  last gate verdict: every leg HEALTHY (3)" in lines
    assert lines[-5:] == [
        f"  waiting for approval of the step to 100% of group {GROUP} (3 legs):",
        *[f"    leg {leg}: {weights(leg, 50)} -> {weights(leg, 100)}" for leg in LEGS],
        f"    mesh-rollout approve|reject {arn} --comment TEXT",
    ]


def test_status_as_json_has_every_leg(healthy: tuple[Run, Run]) -> None:
    _, run = healthy
    document = json.loads(run.said["status --output json"])
    assert document["group"] == GROUP and document["route"] is None and len(document["lockIds"]) == 3
    legs = {leg["name"]: leg for leg in document["legs"]}
    assert list(legs) == list(LEGS)
    for leg in LEGS:
        assert legs[leg]["route"]["label"] == ROUTES[leg]
        assert (legs[leg]["weights"], legs[leg]["snapshot"]) == ({leg: 50, f"{leg}v2": 50}, {leg: 100, f"{leg}v2": 0})
        assert legs[leg]["verdict"].startswith("HEALTHY: ")
    assert [leg["name"] for leg in document["pendingApproval"]["legs"]] == list(LEGS)


def test_status_of_a_group_rolled_back_shows_every_leg_at_its_snapshot(failing: Run) -> None:
    lines = ours(failing.said["status"])
    assert f"  group {GROUP}: 3 legs; steps [10, 50, 100], applied [10, 50]" in lines
    for leg in LEGS:
        after = " (after payments)" if leg == "checkout" else ""
        assert f"  leg {leg}{after}: route {ROUTES[leg]}: {weights(leg, 0)}" in lines
    verdicts = [line for line in lines if line.startswith("    last verdict: ")]
    assert [v.split(": ", 2)[1] for v in verdicts] == ["HEALTHY", "HEALTHY", "UNHEALTHY"]
    assert lines[-1].startswith("  error: CanaryUnhealthy: at 50%: leg frontend: UNHEALTHY: judge: FAIL")


def test_abort_stops_the_group_and_waits_until_every_leg_is_back(healthy: tuple[Run, Run]) -> None:
    aborted, _ = healthy
    assert aborted.result.status == "ABORTED"
    arn = aborted.result.execution_arn
    assert (aborted.codes["restored"], aborted.codes["polls"]) == (1, 1)
    assert aborted.said["abort"].splitlines() == [
        f"stopped {arn} in RequestGroupApproval (aborted by arn:aws:sts::123456789012:user/moto: 5xx on checkout)",
        f"  waiting for ExecutionStatusChange to restore 3 legs of group {GROUP} to their snapshots",
        *[f"  leg {leg}: route {ROUTES[leg]} restored: {weights(leg, 0)}" for leg in LEGS],
    ]


def test_abort_of_an_ended_group_says_where_each_leg_goes_back(failing: Run) -> None:
    arn = failing.result.execution_arn
    assert failing.codes["abort"] == 0
    assert ours(failing.said["abort"]) == [
        f"{arn} already ended: FAILED; nothing stopped",
        f"  not waiting: ExecutionStatusChange puts every leg of group {GROUP} back to its snapshot",
        *[f"    leg {leg}: route {ROUTES[leg]} back to {weights(leg, 0)}" for leg in LEGS],
    ]


# --- a group with an ECS-native leg ---------------------------------------------------------------------------
# events/group-ecs-lattice.json: payments, a VPC Lattice route leg, and checkout, an ECS deployment (LINEAR 20 %)
# after it, on the group's steps 20, 60, 100 (approval before 100) in events/local/group-ecs-given.json's world.
EVENTS = ROOT / "events"
ECS_GROUP = "payments, checkout"
ECS_PLAN_LINE = "      leg checkout after payments: ECS service apps/checkout (LINEAR), held at 20 -> 60 -> 100"


@pytest.fixture(scope="module")
def ecs_group() -> Run:
    """The ECS group approved with the CLI; `status` (text and json) asked while it waits for the approval."""
    with given_world(EVENTS / "local" / "group-ecs-given.json") as account:
        said: dict[str, str] = {}
        codes: dict[str, int] = {}
        pending: list[PendingApproval] = []

        approve = cli_approver(account, said, codes, pending)

        progress, lines = Progress(), []
        execution_input = account.resolve_input((EVENTS / "group-ecs-lattice.json").read_text())
        result = account.run(SM, execution_input, on_event=lambda e: lines.extend(progress.lines(e)), approver=approve)
        run = Run(result, lines, pending, said, codes)
        run.codes["status after"], run.said["status after"] = cli("status", result.execution_arn)
        return run


def test_the_plan_counts_and_lists_the_ecs_leg(ecs_group: Run) -> None:
    assert ecs_group.result.status == "SUCCEEDED"
    assert ecs_group.lines[:3] == [
        f"  -> PlanWeightShift  group {ECS_GROUP}: 2 legs; steps 20% -> 60% -> 100%, approval before 100%; 2 waves",
        "      leg payments: route payments/http-80/payments at payments 100 / paymentsv2 0; paymentsv2 20 -> 60 -> 100",
        ECS_PLAN_LINE,
    ]
    assert "  -> MoveWaveLegs  step 20%  no route leg in this wave" in ecs_group.lines


def test_the_ecs_legs_reads_and_answers_say_each_legs_state_percent_and_named_weights(ecs_group: Run) -> None:
    lines = ecs_group.lines
    assert under(lines, "  -> ReadEcsLegs  step 20%  REACHED: leg checkout", 1) == [
        "      leg checkout: PAUSED at 20% (target 20%): checkout-blue 80, checkout-green 20"
    ]
    assert under(lines, "  -> ReadEcsLegs  step 60%  REACHED: leg checkout", 1) == [
        "      leg checkout: PAUSED at 60% (target 60%): checkout-blue 40, checkout-green 60"
    ]
    started = under(lines, "  -> StartEcsLegs  step 20%  1 ECS leg; read again in ", 1)
    assert started[0].startswith("      leg checkout: ECS deployment ") and started[0].endswith(" started")
    assert "arn:aws:ecs" not in started[0]  # the deployment's id, as the ECS deployment's own lines say it
    answered = under(lines, "  -> ContinueEcsLegs  step 20%  1 ECS leg; read again in ", 1)
    assert answered[0].startswith("      leg checkout: CONTINUE at 0% (")
    assert under(lines, "  -> ReadEcsCompletion  REACHED: leg checkout", 1) == [
        "      leg checkout: SUCCESSFUL at 100% (target 100%): checkout-blue 0, checkout-green 100"
    ]
    assert not [line for line in lines if "targetgroup/" in line]  # no target group ARN: their names
    assert not [line for line in lines if "Ecs" in line and "finalized" in line]
    judged = under(lines, "  -> CheckLegs  step 60%  every leg HEALTHY (2)", 2)
    assert [line.split(": ", 1)[0] for line in judged] == ["      leg payments", "      leg checkout"]


def test_the_approval_lists_the_ecs_leg_with_its_percent_now_and_next(ecs_group: Run) -> None:
    (pending,) = ecs_group.pending
    assert pending.describe() == f"the step to 100% of group {ECS_GROUP} (2 legs)"
    assert pending.ecs_leg_changes() == [("checkout", "apps/checkout", "60% -> 100% of production on the new revision")]
    assert pending.weights_change() == (
        f"leg payments: {weights('payments', 60)} -> {weights('payments', 100)}; "
        "leg checkout: 60% -> 100% of production on the new revision"
    )
    out = io.StringIO()
    assert ask(pending, "", out, Terminal("y\nfine\n")) == (True, "fine")
    shown = out.getvalue().splitlines()
    assert shown[4] == "       leg checkout (ECS service apps/checkout): 60% -> 100% of production on the new revision"
    assert shown[5].startswith("         health: HEALTHY: metric canaryErrorRate")


def test_status_lists_the_route_leg_and_the_ecs_leg_with_its_last_read(ecs_group: Run) -> None:
    assert ecs_group.codes["status"] == 0
    lines = ours(ecs_group.said["status"])
    group = lines.index(f"  group {ECS_GROUP}: 2 legs; steps [20, 60, 100], applied [20, 60]")
    assert lines[group + 1] == f"  leg payments: route payments/http-80/payments: {weights('payments', 60)}"
    ecs = lines.index("  leg checkout (after payments): ECS service apps/checkout (LINEAR), held at 20% -> 60% -> 100%")
    assert lines[ecs + 1].startswith("    deployment arn:aws:ecs:us-west-2:123456789012:service-deployment/apps/checkout/")
    assert lines[ecs + 2] == "    last read: PAUSED at 60% (target 60%): checkout-blue 40, checkout-green 60"
    assert lines[ecs + 3].startswith("    last verdict: HEALTHY: metric canaryErrorRate")
    assert lines[-4:-1] == [
        f"  waiting for approval of the step to 100% of group {ECS_GROUP} (2 legs):",
        f"    leg payments: {weights('payments', 60)} -> {weights('payments', 100)}",
        "    leg checkout: 60% -> 100% of production on the new revision",
    ]
    document = json.loads(ecs_group.said["status --output json"])
    (checkout,) = document["ecsLegs"]
    assert (checkout["name"], checkout["service"], checkout["state"], checkout["percent"]) == (
        "checkout",
        "apps/checkout",
        "PAUSED",
        60,
    )
    assert [leg["name"] for leg in document["pendingApproval"]["legs"]] == ["payments", "checkout"]
    after = ours(ecs_group.said["status after"])
    assert "    last read: SUCCESSFUL at 100% (target 100%): checkout-blue 0, checkout-green 100" in after


def test_an_ecs_legs_rollback_and_a_failed_read_say_each_leg() -> None:
    """RollBackEcsLegs' and a FAILED read's shapes (grouping.ecs_legs), without a world."""
    from mesh_rollout_local.progress import group_lines, task_facts

    rolled = {"done": ["leg checkout: ContinueServiceDeployment ROLLBACK at the pause"], "polls": 0, "waitSeconds": 30}
    assert (task_facts(rolled), group_lines(rolled)) == (
        "1 ECS leg; read again in 30 s",
        ["leg checkout: ContinueServiceDeployment ROLLBACK at the pause"],
    )
    leg = {"name": "checkout", "serviceDeploymentArn": "arn:aws:ecs:us-west-2:1:service-deployment/apps/checkout/abc"}
    failed = {
        "state": "FAILED",
        "error": "EcsRolledBack",
        "summary": "leg checkout: ROLLED_BACK at 0% (ECS deployment ROLLED_BACK: alarm)",
        "polls": 3,
        "waitSeconds": 30,
        "legs": [
            {
                **leg,
                "state": "ROLLED_BACK",
                "percent": 0,
                "target": 60,
                "next": "FAILED",
                "reason": "ECS deployment ROLLED_BACK: alarm",
            },
        ],
    }
    assert task_facts(failed) == "FAILED (EcsRolledBack): leg checkout"
    assert group_lines(failed) == ["leg checkout: ROLLED_BACK at 0% (target 60%); ECS deployment ROLLED_BACK: alarm"]
