"""The ECS deployment's dry run ("dryRun": true, issue 23 item 1) on the emulated account: every shipped ECS
deployment input is ready on its world, a world with five different problems reports all five in one plan, and no dry
run makes a call that is not a read (the runner records every call the handlers make): the service, its deployments,
the production rule and the lock are unchanged."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

import pytest

from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount, RunResult, StillClock
from tests.conftest import EVENTS, ROOT, load_json
from tests.support.dry_run import (
    UNPUBLISHED_SUCCESSES,
    every_problem_in_one_plan,
    narrow_statements,
    read_calls,
    report_of,
    routes_and_locks,
)

SM = "EcsDeploymentStateMachine"
DRY_RUN_STATES = ["DryRunWanted", "DryRunEcsDeployment", "DryRunReady"]
# every shipped ECS deployment input with a world it runs on (events/local/ecs-deployment-<world>-given.json, written by
# tools/ecs_deployment_worlds.py); canary and images name no backend, so they run on both
EXAMPLES = [
    ("ecs-deployment-alb.json", "alb"),
    ("ecs-deployment-lattice.json", "lattice"),
    ("ecs-deployment-canary.json", "alb"),
    ("ecs-deployment-canary.json", "lattice"),
    ("ecs-deployment-images.json", "alb"),
    ("ecs-deployment-images.json", "lattice"),
]


@contextmanager
def world(kind: str) -> Iterator[OfflineAccount]:
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True, clock=StillClock()) as account:
        account.apply_given(load_json(EVENTS / "local" / f"ecs-deployment-{kind}-given.json"), EVENTS / "local")
        yield account


def deployment_of(account: OfflineAccount, name: str) -> dict[str, Any]:
    return json.loads(account.resolve_input((EVENTS / name).read_text()))  # type: ignore[no-any-return]


def dry_run(account: OfflineAccount, deployment: dict[str, Any]) -> RunResult:
    return account.run(SM, {**deployment, "dryRun": True})


def state_of(account: OfflineAccount) -> bytes:
    """What a deployment could change: every route, rule and lock (test_dry_run's), and the service's revision,
    configuration and deployments (not its task counts, which the emulator moves on its own) with every service
    deployment ECS lists for it."""
    ecs = account.client("ecs")
    described = ecs.describe_services(cluster="apps", services=["checkout"])["services"][0]
    kept = ("taskDefinition", "desiredCount", "deploymentConfiguration", "loadBalancers", "vpcLatticeConfigurations")
    service = {k: described.get(k) for k in kept}
    service["deployments"] = [(d["id"], d["taskDefinition"], d["status"]) for d in described["deployments"]]
    listed = ecs.list_service_deployments(cluster="apps", service="checkout")["serviceDeployments"]
    found = {"routes and locks": routes_and_locks(account).decode(), "service": service, "deployments": listed}
    return json.dumps(found, sort_keys=True, default=str).encode()


@pytest.mark.parametrize(("name", "kind"), EXAMPLES, ids=[f"{n}-{k}" for n, k in EXAMPLES])
def test_every_shipped_ecs_deployment_input_dry_runs_ready_on_its_world(name: str, kind: str) -> None:
    with world(kind) as account:
        before = state_of(account)
        result = dry_run(account, deployment_of(account, name))
        assert state_of(account) == before  # no service, deployment, rule or lock changed: byte for byte
    report = report_of(result)
    assert result.status == "SUCCEEDED" and report["ready"] is True, report["text"]
    assert result.states == [*DRY_RUN_STATES, "DryRunPassed"]  # a Succeed whose output is the report
    assert report["steps"][-1]["percent"] == 100 and report["steps"][-1]["approval"] is True
    assert [c for c in report["checks"] if c["check"] == "permissions"][-1]["status"] == "ok", report["text"]
    assert read_calls(result) > 0
    lines = report["text"].splitlines()
    assert lines[0].startswith("Dry run of the ECS deployment: READY")
    assert lines[1] == "service: apps/checkout (runs checkout:1)"


def test_the_steps_are_ecs_own_with_its_bakes() -> None:
    with world("alb") as account:
        report = dry_run(account, deployment_of(account, "ecs-deployment-canary.json")).output
    assert report["steps"] == [
        {"percent": 10, "approval": False, "bakeSeconds": 900},  # canaryBakeTimeInMinutes 15
        {"percent": 100, "approval": True, "bakeSeconds": 600},  # the service's bakeTimeInMinutes 10
    ]
    assert "traffic: ALB apps:80/rule 10 (checkout-blue -> checkout-green)" in report["text"].splitlines()


def five_problems(account: OfflineAccount) -> dict[str, Any]:
    """The ALB world with five different mistakes: a misspelt input field, an approval before a percent ECS never
    stops at, an alarm that does not exist, a judge's metric with no datapoints on the production side, and the
    service's lock held by another execution."""
    from mesh_rollout.shifting.lock import lock_item

    deployment = deployment_of(account, "ecs-deployment-alb.json")
    table = account.environment("DryRunEcsDeploymentFunction")["ROUTE_LOCK_TABLE"]
    service = account.client("ecs").describe_services(cluster="apps", services=["checkout"])["services"][0]
    owner = "arn:aws:states:us-west-2:123456789012:execution:EcsDeploymentStateMachine:yesterday"
    item = lock_item(f"ecs:{service['serviceArn']}", owner, int(time.time()), 3600)
    account.client("dynamodb").put_item(TableName=table, Item=item)  # 5: the lock
    deployment["pollSecond"] = 30  # 1: misspelt
    deployment["approval"]["beforeSteps"] = [30]  # 2: LINEAR 20 % stops at 20, 40 ...
    deployment["healthGate"]["alarmNames"] = ["checkout-errors"]  # 3: no such alarm
    deployment["healthGate"]["compare"]["metrics"].append(UNPUBLISHED_SUCCESSES)  # 4: the world publishes no 2XX counts
    return deployment


def test_five_different_problems_are_all_in_one_plan_and_the_execution_fails_with_all_five() -> None:
    with world("alb") as account:
        deployment = five_problems(account)
        before = state_of(account)
        result = dry_run(account, deployment)
        assert state_of(account) == before
    expected = [
        "input: pollSecond: unknown field",
        "steps: approval.beforeSteps[0]: 30 is not a step of the deployment [20, 40, 60, 80, 100]",
        "alarms: healthGate.alarmNames[0]: CloudWatch alarm 'checkout-errors' does not exist",
        "metrics: judge metric successes (stable): no datapoints in the last 600 s",
        "lock: ecs:arn:aws:ecs:us-west-2:123456789012:service/apps/checkout is held by",
    ]
    report = every_problem_in_one_plan(result, expected, DRY_RUN_STATES)
    # the new revision has no production traffic before ECS's first step: its side's missing data is a warning
    assert any(w.startswith("metrics: judge metric successes (canary): no datapoints") for w in report["warnings"])


def test_a_strategy_the_configuration_leaves_unknown_skips_the_traffic_check_saying_so() -> None:
    """The real plan reads ROLLING when no strategy is given; the dry run guesses none: no traffic is checked."""
    with world("alb") as account:
        deployment = {**deployment_of(account, "ecs-deployment-alb.json"), "deploymentConfiguration": {"strategy": "ROLLING"}}
        report = report_of(dry_run(account, deployment))
    assert any(p.startswith("strategy: deploymentConfiguration.strategy: ") for p in report["problems"]), report["text"]
    assert "traffic: not checked: the deployment's strategy is unknown (see strategy above)" in report["warnings"]
    assert not [c for c in report["checks"] if c["check"] == "traffic" and c["status"] != "warning"]


def test_a_write_sneaking_into_the_dry_run_is_caught() -> None:
    """The read-only checks are not vacuous: a dry run whose function starts ECS's deployment first fails both."""
    with world("alb") as account:
        deployment = deployment_of(account, "ecs-deployment-alb.json")

        def deploy(event: dict[str, Any]) -> None:
            from mesh_rollout.aws import client

            client("ecs").update_service(cluster="apps", service="checkout", taskDefinition="checkout:2")

        before = state_of(account)
        account.intercept("DryRunEcsDeploymentFunction", deploy)
        result = dry_run(account, deployment)
        with pytest.raises(AssertionError, match="ecs:UpdateService"):
            read_calls(result)
        assert state_of(account) != before


def test_a_role_that_may_not_answer_the_pauses_is_a_problem_naming_function_action_and_resource() -> None:
    with world("alb") as account:
        iam = account.client("iam")
        for name in iam.list_role_policies(RoleName="EcsDecideFunctionRole")["PolicyNames"]:
            iam.delete_role_policy(RoleName="EcsDecideFunctionRole", PolicyName=name)
        result = dry_run(account, deployment_of(account, "ecs-deployment-alb.json"))
        read_calls(result)
    report = report_of(result)
    assert result.error == "DryRunFoundProblems"
    deployment = "arn:aws:ecs:us-west-2:123456789012:service-deployment/apps/checkout/dry-run"
    assert [p for p in report["problems"] if "ContinueServiceDeployment" in p] == [
        f"permissions: EcsDecideFunction may not ecs:ContinueServiceDeployment on {deployment} (implicitDeny)"
    ]
    assert all(p.startswith("permissions: EcsDecideFunction may not ") for p in report["problems"]), report["text"]


def test_the_step_checks_role_is_asked_about_the_gates_reads() -> None:
    """EcsStepCheck judges every pause: its role without its policies may not read the gate's metrics."""
    with world("alb") as account:
        iam = account.client("iam")
        for name in iam.list_role_policies(RoleName="EcsStepCheckFunctionRole")["PolicyNames"]:
            iam.delete_role_policy(RoleName="EcsStepCheckFunctionRole", PolicyName=name)
        result = dry_run(account, deployment_of(account, "ecs-deployment-alb.json"))
        read_calls(result)
    report = report_of(result)
    assert report["problems"] == ["permissions: EcsStepCheckFunction may not cloudwatch:GetMetricData on * (implicitDeny)"], (
        report["text"]
    )


def test_cli_local_dry_run_of_the_ecs_deployment_prints_the_plan_and_exits_0() -> None:
    out = io.StringIO()
    argv = ["local", SM, "--input", str(EVENTS / "ecs-deployment-alb.json")]
    argv += ["--given", str(EVENTS / "local" / "ecs-deployment-alb-given.json"), "--dry-run"]
    with redirect_stdout(out):
        assert main([*argv, "--template", str(ROOT / "template.yaml")]) == 0
    text = out.getvalue()
    assert "Dry run of the ECS deployment: READY" in text
    assert "     20%: then ECS bakes 600 s" in text
    assert ", no changes" in text


def test_registering_the_tagged_revision_again_needs_its_roles_passed_and_its_tags_copied() -> None:
    """imageDefinitions: RegisterRelease registers the service's revision again with its roles (iam:PassRole to
    ecs-tasks.amazonaws.com, scoped by TaskRoleArns) and its tags (ecs:TagResource with ecs:CreateAction
    RegisterTaskDefinition). TaskRoleArns narrowed to the execution role (the offline stack's default is any role of
    the account) and TagNewRevisions dropped: both are problems once the revision carries a tag."""
    with world("alb") as account:
        execution_role, task_role = (f"arn:aws:iam::123456789012:role/{n}" for n in ("ecsTaskExecutionRole", "ecsTaskRole"))
        narrow_statements(account, "RegisterReleaseFunctionRole", {"PassTaskRoles": [execution_role], "TagNewRevisions": None})
        ecs = account.client("ecs")
        revision = ecs.describe_services(cluster="apps", services=["checkout"])["services"][0]["taskDefinition"]
        ecs.tag_resource(resourceArn=revision, tags=[{"key": "team", "value": "checkout"}])
        family = ecs.describe_task_definition(taskDefinition=revision)["taskDefinition"]["family"]
        result = dry_run(account, deployment_of(account, "ecs-deployment-images.json"))
        read_calls(result)
    report = report_of(result)
    assert report["problems"] == [
        f"permissions: RegisterReleaseFunction may not iam:PassRole on {task_role} (implicitDeny)",
        "permissions: RegisterReleaseFunction may not ecs:TagResource on"
        f" arn:aws:ecs:us-west-2:123456789012:task-definition/{family}:* (implicitDeny)",
    ], report["text"]
