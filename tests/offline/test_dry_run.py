"""The weight shift's dry run ("dryRun": true, issue 23 item 1) on the emulated account: every shipped example is
ready (or reports exactly the problems its world has), a world with five different problems reports all five in
one plan, and no dry run makes a single call that is not a read (the runner records every call the handlers make)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

import pytest
from pipeline.make_input import release_input

from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount, RunResult, StillClock
from tests.conftest import EVENTS, ROOT, load_json
from tests.support import handle, status_change_event
from tests.support.dry_run import UNPUBLISHED_SUCCESSES, every_problem_in_one_plan, narrow_statements, read_calls, report_of
from tests.support.dry_run import routes_and_locks as state_of
from tests.support.routes import set_rule_weights

SM = "WeightShiftStateMachine"
DRY_RUN_STATES = ["DryRunWanted", "DryRunWeightShift", "DryRunReady"]

# every shipped weight-shift input with the world it is run on (tests/offline pair them so), and the problems that
# world really has (the alarm worlds hold the canary's alarm in ALARM)
EXAMPLES = [
    ("examples/checkout-shift.json", "examples/checkout-given.json", []),
    ("examples/checkout-shift.json", "examples/checkout-alarm-given.json", ["alarms: checkoutv2-5xx is in ALARM now"]),
    ("events/weight-shift-apps.json", "events/local/weight-shift-given.json", []),
    ("events/weight-shift-apps.json", "events/local/weight-shift-alarm-given.json", ["alarms: serviceBv2-5xx is in ALARM now"]),
    ("events/weight-shift-release.json", "events/local/weight-shift-given.json", []),
    ("events/weight-shift-step.json", "events/local/weight-shift-given.json", []),
    ("events/weight-shift-alb.json", "events/local/alb-given.json", []),
    ("events/weight-shift-lattice.json", "events/local/lattice-given.json", []),
    ("events/weight-shift-lattice-judged.json", "events/local/lattice-judge-given.json", []),
    ("events/weight-shift-lattice-migrated.json", "events/local/lattice-migrated-given.json", []),
]


@contextmanager
def world(given: str) -> Iterator[OfflineAccount]:
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True, clock=StillClock()) as account:
        account.apply_given(load_json(ROOT / given), (ROOT / given).parent)
        yield account


def dry_run(account: OfflineAccount, shift: dict[str, Any]) -> RunResult:
    return account.run(SM, {**shift, "dryRun": True})


def shift_of(account: OfflineAccount, path: str) -> dict[str, Any]:
    return json.loads(account.resolve_input((ROOT / path).read_text()))  # type: ignore[no-any-return]


@pytest.mark.parametrize(("shift_path", "given", "problems"), EXAMPLES, ids=[f"{s}-{g}" for s, g, _ in EXAMPLES])
def test_every_shipped_example_is_ready_or_reports_its_worlds_problems(shift_path: str, given: str, problems: list[str]) -> None:
    with world(given) as account:
        before = state_of(account)
        result = dry_run(account, shift_of(account, shift_path))
        report = report_of(result)
        assert [p[: len(want)] for p, want in zip(report["problems"], problems, strict=False)] == problems
        assert len(report["problems"]) == len(problems), report["text"]
        if problems:
            assert (result.status, result.error) == ("FAILED", "DryRunFoundProblems")
            assert result.cause == report["text"]
            assert result.states == [*DRY_RUN_STATES, "DryRunFoundProblems"]
        else:
            assert result.status == "SUCCEEDED" and result.output["ready"] is True, report["text"]
            assert result.states == [*DRY_RUN_STATES, "DryRunPassed"]  # Succeed: the output is the report
        assert report["steps"], report["text"]
        assert [c for c in report["checks"] if c["check"] == "permissions"][-1]["status"] == "ok", report["text"]
        assert read_calls(result) > 0
        assert state_of(account) == before  # no weight, lock, service changed: byte for byte


def test_the_steps_are_the_weights_each_step_writes_on_the_backends_scale() -> None:
    with world("events/local/alb-given.json") as account:
        report = dry_run(account, shift_of(account, "events/weight-shift-alb.json")).output
    assert report["steps"] == [
        {"percent": 50, "weights": {"serviceB": 50, "serviceBv2": 50}},
        {"percent": 100, "weights": {"serviceB": 0, "serviceBv2": 100}},
    ]
    assert "  100%: serviceB 0 / serviceBv2 100 (approval first)" in report["text"].splitlines()
    with world("examples/checkout-given.json") as account:  # checkout 100 / checkoutv2 0, 10 % steps
        report = dry_run(account, shift_of(account, "examples/checkout-shift.json")).output
    assert [s["weights"]["checkoutv2"] for s in report["steps"]] == [10, 50, 100]
    lines = report["text"].splitlines()
    assert lines[:3] == [
        "Dry run of the weight shift: READY, 1 warning; nothing was changed",  # no confirmed approval subscription
        "route: VPC Lattice checkout/http-80/checkout (checkout -> checkoutv2)",
        "now: checkout 100 / checkoutv2 0",
    ]


def five_problems(account: OfflineAccount) -> dict[str, Any]:
    """The ALB world with five different mistakes: a misspelt input field, a canary target group the rule does not
    forward to, an alarm that does not exist, a judge's metric with no datapoints on the stable side, and the route's
    lock held by another execution."""
    from mesh_rollout.shifting.lock import lock_item

    shift = shift_of(account, "events/weight-shift-alb.json")
    stable_group = account.saved["serviceBGroup"]["TargetGroups"][0]
    account.client("elbv2").create_target_group(
        Name="serviceBv3", Protocol="HTTP", Port=9080, VpcId=stable_group["VpcId"], TargetType="ip"
    )
    table = account.environment("DryRunWeightShiftFunction")["ROUTE_LOCK_TABLE"]
    owner = "arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:yesterday"
    now = int(time.time())
    account.client("dynamodb").put_item(TableName=table, Item=lock_item(f"alb:{shift['ruleArn']}", owner, now, 3600))
    shift["bakeSecond"] = shift.pop("bakeSeconds")  # 1: misspelt
    shift["canary"] = "serviceBv3"  # 2: not on rule 10
    shift["healthGate"]["alarmNames"].append("serviceBv2-errors")  # 3: no such alarm
    shift["healthGate"]["compare"] = {"metrics": [UNPUBLISHED_SUCCESSES]}  # 4: no 2XX counts for the stable side
    return shift  # 5: the lock, above


def test_five_different_problems_are_all_in_one_plan_and_the_execution_fails_with_all_five() -> None:
    with world("events/local/alb-given.json") as account:
        shift = five_problems(account)
        before = state_of(account)
        result = dry_run(account, shift)
        assert state_of(account) == before
    expected = [
        "input: bakeSecond: unknown field",
        "route: canary: target group 'serviceBv3' is not forwarded to by rule 10",
        "alarms: healthGate.alarmNames[1]: CloudWatch alarm 'serviceBv2-errors' does not exist",
        "metrics: judge metric successes (stable): no datapoints in the last 300 s",
        "lock: alb:arn:aws:elasticloadbalancing:",
    ]
    report = every_problem_in_one_plan(result, expected, DRY_RUN_STATES)
    assert "is held by arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:yesterday" in report["problems"][4]


def test_a_dry_run_that_found_problems_is_neither_cleaned_up_nor_notified(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a dry run that ended FAILED with DryRunFoundProblems
    with world("events/local/alb-given.json") as account:
        result = dry_run(account, five_problems(account))
        assert (result.status, result.error) == ("FAILED", "DryRunFoundProblems")
        published = len(account.notifications())
        # When EventBridge delivers its end to the status-change function
        event = status_change_event(
            result.execution_arn, account.state_machine_arns[SM], "FAILED", error=result.error, cause=result.cause
        )
        handled = handle(account, event, monkeypatch)
        # Then it undoes nothing and tells nobody: the report is for whoever asked for the dry run
        assert handled == {"executionArn": result.execution_arn, "status": "FAILED", "done": [], "notice": "none: a dry run"}
        assert len(account.notifications()) == published


@pytest.mark.parametrize(
    ("alarm", "metric", "handler"),
    [
        ("WeightShiftFailuresAlarm", "WeightShiftDryRunsNotReady", "dry_run_weight_shift.py"),
        ("EcsDeploymentFailuresAlarm", "EcsDeploymentDryRunsNotReady", "dry_run_ecs_deployment.py"),
    ],
)
def test_the_failures_alarm_leaves_out_the_dry_runs_the_dry_run_function_counts(alarm: str, metric: str, handler: str) -> None:
    template = (ROOT / "template.yaml").read_text()
    properties = template.split(f"  {alarm}:\n", 1)[1].split("\n\n", 1)[0]
    assert "Expression: FILL(failed, 0) - FILL(dryRunsNotReady, 0) + FILL(timedOut, 0) + FILL(aborted, 0)" in properties
    assert (
        f"MetricStat: {{Metric: {{Namespace: MeshRollout, MetricName: {metric},"
        " Dimensions: [{Name: service, Value: mesh-rollout}]}, Period: 300, Stat: Sum}"
    ) in properties
    # the handler counts that metric under the namespace and service the template's Globals give every function
    code = (ROOT / "functions" / "handlers" / handler).read_text()
    assert f'metrics.add_metric(name="{metric}", unit="Count", value=1)' in code
    assert "POWERTOOLS_SERVICE_NAME: mesh-rollout" in template and "POWERTOOLS_METRICS_NAMESPACE: MeshRollout" in template


def test_a_write_sneaking_into_the_dry_run_is_caught() -> None:
    """The read-only check is not vacuous: a dry run whose function takes the lock first fails both assertions."""
    with world("events/local/alb-given.json") as account:
        shift = shift_of(account, "events/weight-shift-alb.json")
        table = account.environment("DryRunWeightShiftFunction")["ROUTE_LOCK_TABLE"]

        lock_id = f"alb:{shift['ruleArn']}"

        def take_the_lock(event: dict[str, Any], table: str = table, lock_id: str = lock_id) -> None:
            from mesh_rollout.aws import client
            from mesh_rollout.shifting.lock import acquire

            acquire(client("dynamodb"), table, lock_id, "sneaky", 60)

        before = state_of(account)
        account.intercept("DryRunWeightShiftFunction", take_the_lock)
        result = dry_run(account, shift)
        with pytest.raises(AssertionError, match="dynamodb:PutItem"):
            read_calls(result)
        assert state_of(account) != before


def test_cli_local_dry_run_prints_the_plan_and_exits_0_when_ready_1_with_problems() -> None:
    template = str(ROOT / "template.yaml")
    shift = str(EVENTS / "weight-shift-apps.json")
    for given, code, verdict in (("weight-shift-given.json", 0, "READY"), ("weight-shift-alarm-given.json", 1, "NOT READY")):
        out = io.StringIO()
        with redirect_stdout(out):
            argv = ["local", SM, "--input", shift, "--given", str(EVENTS / "local" / given), "--dry-run", "--template", template]
            assert main(argv) == code
        text = out.getvalue()
        assert f"Dry run of the weight shift: {verdict}" in text
        assert "  50%: serviceB 50 / serviceBv2 50" in text
        assert "AWS calls by our handlers:" in text and ", no changes" in text
        assert ("PROBLEM  alarms: serviceBv2-5xx is in ALARM now" in text) is (code == 1)
        assert "error: DryRunFoundProblems" not in text  # the plan is said once


def test_cli_dry_run_is_only_for_the_weight_shift(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["local", "MeshRolloutStateMachine", "--input", str(EVENTS / "mesh-rollout-apps.json"), "--dry-run"]
    assert main([*argv, "--template", str(ROOT / "template.yaml")]) == 2
    assert (
        "--dry-run: MeshRolloutStateMachine has no dry run (WeightShiftStateMachine and EcsDeploymentStateMachine have one)"
        in capsys.readouterr().err
    )


def test_start_dry_run_follows_and_exits_0_ready_1_with_problems(
    shift_account: OfflineAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    """`start --dry-run` follows the run without --follow: its exit code is the verdict, as its help says."""
    arn = shift_account.state_machine_arns[SM]
    argv = ["start", SM, "--input", str(EVENTS / "weight-shift-apps.json"), "--state-machine-arn", arn, "--dry-run"]
    assert main(argv) == 0
    assert "Dry run of the weight shift: READY" in capsys.readouterr().out
    shift_account.client("cloudwatch").set_alarm_state(AlarmName="serviceBv2-5xx", StateValue="ALARM", StateReason="5xx")
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "Dry run of the weight shift: NOT READY" in out and "PROBLEM  alarms: serviceBv2-5xx is in ALARM now" in out


def test_start_dry_run_of_a_state_machine_without_one_is_refused_whether_named_by_stack_or_arn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shift = str(EVENTS / "weight-shift-apps.json")
    argv = ["start", "MeshRolloutStateMachine", "--input", shift, "--stack", "mesh-rollout", "--dry-run"]
    assert main(argv) == 2
    said = "has no dry run (WeightShiftStateMachine and EcsDeploymentStateMachine have one)"
    assert f"--dry-run: MeshRolloutStateMachine {said}" in capsys.readouterr().err
    # with --state-machine-arn, the ARN's name is what runs, whatever the logical ID given
    arn = "arn:aws:states:us-west-2:123456789012:stateMachine:MeshRolloutStateMachine-AbC123"
    assert main(["start", SM, "--input", shift, "--state-machine-arn", arn, "--dry-run"]) == 2
    assert f"--dry-run: MeshRolloutStateMachine-AbC123 {said}" in capsys.readouterr().err


def test_a_role_that_may_not_make_a_call_of_the_run_is_a_problem_naming_function_action_and_resource() -> None:
    """STACK_ROLES names the roles SAM generates (!GetAtt <Function>Role.Arn); the emulated IAM answers
    SimulatePrincipalPolicy from their policies. ShiftTrafficFunction's role without its policies may make none of
    the run's weight writes."""
    with world("events/local/alb-given.json") as account:
        shift = shift_of(account, "events/weight-shift-alb.json")
        roles = json.loads(account.environment("DryRunWeightShiftFunction")["STACK_ROLES"])
        assert roles["ShiftTrafficFunction"] == "arn:aws:iam::123456789012:role/ShiftTrafficFunctionRole"
        iam = account.client("iam")
        for name in iam.list_role_policies(RoleName="ShiftTrafficFunctionRole")["PolicyNames"]:
            iam.delete_role_policy(RoleName="ShiftTrafficFunctionRole", PolicyName=name)
        result = dry_run(account, shift)
        read_calls(result)
    report = report_of(result)
    assert result.error == "DryRunFoundProblems"
    table = account.environment("DryRunWeightShiftFunction")["ROUTE_LOCK_TABLE"]
    assert report["problems"] == [
        "permissions: ShiftTrafficFunction may not elasticloadbalancing:DescribeRules on * (implicitDeny)",
        f"permissions: ShiftTrafficFunction may not elasticloadbalancing:ModifyRule on {shift['ruleArn']} (implicitDeny)",
        f"permissions: ShiftTrafficFunction may not dynamodb:GetItem on arn:aws:dynamodb:us-west-2:123456789012:table/{table}"
        " (implicitDeny)",
    ]


def test_a_dry_run_that_may_not_simulate_says_so_and_reports_the_rest() -> None:
    with world("events/local/alb-given.json") as account:
        account.faults.add(
            "iam", "SimulatePrincipalPolicy", code="AccessDenied", status=403, message="not authorized", times=1000
        )
        result = dry_run(account, shift_of(account, "events/weight-shift-alb.json"))
    assert result.status == "SUCCEEDED"
    assert (
        "permissions: could not check permissions: SimulatePrincipalPolicy: AccessDenied: not authorized"
        in (result.output["warnings"])
    )
    assert result.output["steps"] and result.output["ready"] is True


def test_the_release_loops_dry_run_checks_the_idle_target_group_as_the_canary() -> None:
    """`alternate`: the plan's own choice of roles (the group at weight 0 is the canary and gets the release)."""
    with world("events/local/alb-given.json") as account:
        shift = {k: v for k, v in shift_of(account, "events/weight-shift-alb.json").items() if k != "finalize"}
        set_rule_weights(account, {"serviceB": 0, "serviceBv2": 100})
        release = {**shift, "alternate": True, "imageDefinitions": [{"name": "app", "imageUri": "example/release:1"}]}
        before = state_of(account)
        result = dry_run(account, release)
        assert state_of(account) == before
    report = report_of(result)
    assert result.status == "SUCCEEDED", report["text"]
    assert "route: ALB apps:80/rule 10 (serviceBv2 -> serviceB)" in report["text"]
    assert "release: apps/serviceB gets app=example/release:1 first" in report["text"]
    assert [s["weights"] for s in report["steps"]] == [{"serviceBv2": 50, "serviceB": 50}, {"serviceBv2": 0, "serviceB": 100}]


def test_a_release_whose_task_role_the_stack_may_not_pass_or_whose_tags_it_may_not_copy_is_a_problem() -> None:
    """RegisterRelease registers the canary's revision again with its task and execution roles (iam:PassRole to
    ecs-tasks.amazonaws.com, which the stack scopes by TaskRoleArns) and its tags (ecs:TagResource with
    ecs:CreateAction RegisterTaskDefinition). The offline stack's TaskRoleArns is its default (any role of the
    account): narrowed here to the execution role alone, as a stack deployed with TaskRoleArns naming only it has it,
    and its TagNewRevisions statement dropped; the canary's revision carries a tag."""
    with world("events/local/alb-given.json") as account:
        shift = {**shift_of(account, "events/weight-shift-alb.json"), "imageDefinitions": [{"name": "app", "imageUri": "x:2"}]}
        execution_role, task_role = (f"arn:aws:iam::123456789012:role/{n}" for n in ("ecsTaskExecutionRole", "ecsTaskRole"))
        narrow_statements(account, "RegisterReleaseFunctionRole", {"PassTaskRoles": [execution_role], "TagNewRevisions": None})
        ecs = account.client("ecs")
        revision = ecs.describe_task_definition(taskDefinition="taskBv2")["taskDefinition"]["taskDefinitionArn"]
        ecs.tag_resource(resourceArn=revision, tags=[{"key": "team", "value": "checkout"}])
        result = dry_run(account, shift)
        read_calls(result)
    report = report_of(result)
    assert result.error == "DryRunFoundProblems"
    assert report["problems"] == [
        f"permissions: RegisterReleaseFunction may not iam:PassRole on {task_role} (implicitDeny)",
        "permissions: RegisterReleaseFunction may not ecs:TagResource on"
        " arn:aws:ecs:us-west-2:123456789012:task-definition/taskBv2:* (implicitDeny)",
    ], report["text"]


def test_a_role_that_may_not_use_the_stacks_key_to_publish_or_write_the_lock_is_a_problem() -> None:
    """The topic and the lock table are encrypted with the stack's key (MeshRolloutKey, KMS_KEY_ARN): publishing and
    writing the table need kms:Decrypt and kms:GenerateDataKey on it."""
    with world("events/local/alb-given.json") as account:
        key = account.environment("DryRunWeightShiftFunction")["KMS_KEY_ARN"]
        assert key.startswith("arn:aws:kms:us-west-2:123456789012:key/")
        narrow_statements(account, "FinishRolloutFunctionRole", {"UseTheKey": None})
        result = dry_run(account, shift_of(account, "events/weight-shift-alb.json"))
        read_calls(result)
    assert report_of(result)["problems"] == [
        f"permissions: FinishRolloutFunction may not kms:Decrypt on {key} (implicitDeny)",
        f"permissions: FinishRolloutFunction may not kms:GenerateDataKey on {key} (implicitDeny)",
    ]


@pytest.mark.parametrize(
    ("shift_path", "given", "images"),
    [
        # the console's release loop on the guide's Lattice rule, servicebv2 idle
        ("events/weight-shift-release-lattice.json", "events/local/lattice-given.json", None),
        # the pipeline's bases, as pipeline/make_input.py completes them with a build's imagedefinitions.json
        ("pipeline/release-base-lattice.json", "examples/checkout-given.json", [{"name": "app", "imageUri": "c:2.1"}]),
        ("pipeline/release-base.json", "events/local/weight-shift-given.json", [{"name": "app", "imageUri": "b:1.1"}]),
    ],
)
def test_every_shipped_release_input_is_ready(shift_path: str, given: str, images: list[dict[str, str]] | None) -> None:
    with world(given) as account:
        if "lattice-given" in given:
            set_rule_weights(account, {"serviceb": 100, "servicebv2": 0})
        shift = shift_of(account, shift_path)
        if images is not None:
            shift = release_input(shift, images)
        before = state_of(account)
        result = dry_run(account, shift)
        assert state_of(account) == before
    report = report_of(result)
    assert (result.status, report["ready"], report["problems"]) == ("SUCCEEDED", True, []), report["text"]
    assert result.states == [*DRY_RUN_STATES, "DryRunPassed"]
    assert any(c["check"] == "release" and c["status"] == "ok" for c in report["checks"]), report["text"]
    read_calls(result)
