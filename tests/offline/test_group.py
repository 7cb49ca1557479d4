"""Groups (issue 25): one WeightShiftStateMachine execution moves several legs on one schedule, with one approval
per step and all-or-nothing rollback. The world is examples/shop-group-given.json: VPC Lattice routes payments and
checkout (checkout waits for payments) and an ALB rule for frontend, its gate with the statistical judge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout.traffic.alb import AlbRoute
from mesh_rollout.traffic.lattice import LatticeRoute
from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.runner import OfflineAccount, RunResult
from tests.conftest import EVENTS, ROOT, wait_for
from tests.support import SM, approve, clean_up, given_world, service_task_definition, stop_execution

EXAMPLES = ROOT / "examples"


@pytest.fixture
def shop() -> Iterator[OfflineAccount]:
    with given_world(EXAMPLES / "shop-group-given.json") as account:
        yield account


@pytest.fixture
def failing_shop() -> Iterator[OfflineAccount]:
    """The same world, with frontendv2 clearly worse than frontend at the 50% step (only its judge sees it)."""
    with given_world(EXAMPLES / "shop-group-frontend-fails-given.json") as account:
        yield account


def group_input(account: OfflineAccount, **changes: Any) -> dict[str, Any]:
    raw = json.loads(account.resolve_input((EXAMPLES / "shop-group.json").read_text()))
    return {**raw, **changes}


def rules(account: OfflineAccount) -> dict[str, Any]:
    """Every leg's listener rule as the services return it, whole (actions, conditions, priority, names), but for the
    time VPC Lattice stamps on each update."""
    lattice = account.client("vpc-lattice")
    found = {}
    for name in ("payments", "checkout"):
        service = next(s for s in lattice.list_services()["items"] if s["name"] == name)
        listener = lattice.list_listeners(serviceIdentifier=service["id"])["items"][0]
        rule = next(
            r
            for r in lattice.list_rules(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])["items"]
            if not r["isDefault"]
        )
        got = lattice.get_rule(serviceIdentifier=service["id"], listenerIdentifier=listener["id"], ruleIdentifier=rule["id"])
        found[name] = {k: v for k, v in got.items() if k not in ("ResponseMetadata", "lastUpdatedAt")}  # a write stamps it
    elbv2 = account.client("elbv2")
    rule_arn = account.saved["frontendRule"]["Rules"][0]["RuleArn"]
    found["frontend"] = elbv2.describe_rules(RuleArns=[rule_arn])["Rules"][0]
    return found


def weights_of(rule: dict[str, Any]) -> dict[str, int]:
    """A Lattice rule's or an ALB rule's forward weights, by target group id or ARN."""
    if "action" in rule:
        return {t["targetGroupIdentifier"]: t["weight"] for t in rule["action"]["forward"]["targetGroups"]}
    forward = next(a for a in rule["Actions"] if a["Type"] == "forward")
    return {t["TargetGroupArn"]: t["Weight"] for t in forward["ForwardConfig"]["TargetGroups"]}


def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, int]]]:
    """Every weight write of the handlers, in order: (route label, weights)."""
    written: list[tuple[str, dict[str, int]]] = []
    for route_class in (LatticeRoute, AlbRoute):
        original = route_class.write

        def write(self: Any, weights: dict[str, int], based_on: Any = None, _original: Any = original) -> Any:
            written.append((self.label, dict(weights)))
            return _original(self, weights, based_on)

        monkeypatch.setattr(route_class, "write", write)
    return written


def leg_of(label: str) -> str:
    return "frontend" if label.startswith("shop-frontend") else label.split("/")[0]


def test_a_three_leg_group_moves_every_leg_on_one_schedule_with_one_approval(
    shop: OfflineAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = writes(monkeypatch)
    asked: list[PendingApproval] = []

    def approve_once(pending: PendingApproval) -> tuple[bool, str]:
        asked.append(pending)
        return approve(pending)

    result = shop.run(SM, group_input(shop), approver=approve_once)
    assert result.status == "SUCCEEDED", result.cause
    # one approval, for the whole group, before 100%
    assert len(asked) == 1 and asked[0].item["step"]["percent"] == 100
    assert [leg["name"] for leg in asked[0].item["legs"]] == ["payments", "checkout", "frontend"]
    # every leg at every step, payments before checkout each time; then each stable off its rule (finalize)
    steps = [(leg_of(label), weights) for label, weights in written]
    assert [leg for leg, _ in steps] == ["payments", "frontend", "checkout"] * 3 + ["payments", "frontend", "checkout"]
    assert [w for leg, w in steps if leg == "checkout"] == [
        {"checkout": 90, "checkoutv2": 10},
        {"checkout": 50, "checkoutv2": 50},
        {"checkout": 0, "checkoutv2": 100},
        {"checkoutv2": 100},
    ]
    after = rules(shop)
    assert all(len(weights_of(rule)) == 1 for rule in after.values())
    assert result.output["weights"] == {
        "payments": {"paymentsv2": 100},
        "checkout": {"checkoutv2": 100},
        "frontend": {"frontendv2": 100},
    }
    assert result.output["lockReleased"] is True
    # route legs only: one MoveLegs call a step, moving its 2 waves in order (the writes above), no Map of waves
    assert result.states.count("CheckLegs") == 3 and result.states.count("MoveLegs") == 3
    assert "MoveWaveLegs" not in result.states


def test_a_leg_whose_judge_fails_rolls_every_leg_back_byte_for_byte(failing_shop: OfflineAccount) -> None:
    before = rules(failing_shop)
    result = failing_shop.run(SM, group_input(failing_shop), approver=approve)
    assert result.status == "FAILED" and result.error == "CanaryUnhealthy"
    assert result.cause is not None and result.cause.startswith("at 50%: leg frontend: UNHEALTHY: judge: FAIL")
    assert "leg payments" not in result.cause.split(". Rolled back:")[0]
    assert rules(failing_shop) == before  # every rule as it was, whole
    # wave by wave, the last first: checkout (which waited for payments), then payments and frontend
    restores = [e for e in result.history if e.get("stateExitedEventDetails", {}).get("name") == "RestoreLegs"]
    legs = [json.loads(e["stateExitedEventDetails"]["output"])["restored"]["legs"] for e in restores]
    assert [[(leg["name"], leg["restored"]) for leg in wave] for wave in legs] == [
        [("checkout", True)],
        [("payments", True), ("frontend", True)],
    ]


def test_a_rejected_step_rolls_every_leg_back(shop: OfflineAccount) -> None:
    before = rules(shop)
    result = shop.run(SM, group_input(shop), approver=lambda pending: (False, "not today"))
    assert result.status == "FAILED" and result.error == "ApprovalRejected"
    assert rules(shop) == before


def test_a_group_refused_for_a_lock_another_group_holds_changes_nothing(shop: OfflineAccount) -> None:
    """Group A (checkout alone) waits for its approval at 100%; group B (payments, checkout, frontend) starts then."""
    raw = group_input(shop)
    seen: dict[str, Any] = {}

    def start_group_b(pending: PendingApproval) -> tuple[bool, str]:
        seen["before"] = rules(shop)
        seen["b"] = shop.run(SM, raw, approver=approve)
        seen["after"] = rules(shop)
        return False, "B went first"

    a = shop.run(SM, {**raw, "legs": [{**raw["legs"][1], "after": []}]}, approver=start_group_b)
    b: RunResult = seen["b"]
    assert b.status == "FAILED" and b.error == "RolloutInProgress"
    assert f"is locked by {a.execution_arn}" in (b.cause or "") and "this execution took no lock and changed nothing" in (
        b.cause or ""
    )
    assert seen["after"] == seen["before"]  # payments and frontend, free, were not taken or moved either
    assert not [op for (_, op) in b.api_calls if op in ("UpdateRule", "ModifyRule", "PutItem")]
    assert b.api_calls[("dynamodb", "TransactWriteItems")] == 2  # the refused acquire, and FinishGroup's release
    assert weights_of(seen["before"]["checkout"]) != weights_of(rules(shop)["checkout"])  # A had moved it, then rolled back


def test_a_group_stopped_in_the_middle_of_a_step_is_put_back_by_the_clean_up(shop: OfflineAccount) -> None:
    before = rules(shop)
    judged: list[str] = []

    def stop_while_judging_50(event: dict[str, Any]) -> None:
        if "legs" in event:
            judged.append(event["executionArn"])
            if len(judged) == 2:  # the 50% step's gate: every leg was moved to 50%
                stop_execution(shop, event["executionArn"])

    shop.intercept("CanaryHealthFunction", stop_while_judging_50)
    result = shop.run(SM, group_input(shop), approver=approve)
    assert result.status == "ABORTED"
    at_50 = rules(shop)
    assert [sorted(weights_of(rule).values()) for rule in at_50.values()] == [[50, 50]] * 3
    done = clean_up(shop, result.execution_arn)
    assert rules(shop) == before
    assert done["done"][0].startswith("legs: leg checkout at its snapshot")
    assert sum(line.endswith("released") for line in done["done"]) == 3
    again = clean_up(shop, result.execution_arn)  # EventBridge delivers the event twice: nothing more to do
    assert rules(shop) == before and again.get("notice") == "sent by an earlier delivery"


def test_a_bad_leg_is_named_at_its_place_and_nothing_runs(shop: OfflineAccount) -> None:
    before = rules(shop)
    raw = group_input(shop)
    raw["legs"][2]["weightShift"]["canary"] = "frontendv3"
    result = shop.run(SM, raw)
    assert result.status == "FAILED" and result.error == "UnknownReference"
    message = json.loads(result.cause or "{}")["errorMessage"]
    assert message == "legs[2].weightShift.canary: target group 'frontendv3' does not exist"
    assert "AcquireGroupLocks" not in result.states
    assert rules(shop) == before and not result.mutating_calls()


def test_a_group_dry_run_reports_every_legs_findings_and_changes_nothing(shop: OfflineAccount) -> None:
    before = rules(shop)
    ready = shop.run(SM, {**group_input(shop), "dryRun": True})
    assert ready.status == "SUCCEEDED" and ready.output["ready"] is True
    assert ready.output["text"].splitlines()[:2] == [
        "Dry run of the group of 3 legs: READY, 1 warning; nothing was changed",
        "steps: 10% -> 50% -> 100%, each baked 300 s, every leg gated",
    ]
    assert {c["check"].split(":")[0] for c in ready.output["checks"]} == {
        "leg payments",
        "leg checkout",
        "leg frontend",
        "approval",
    }
    raw = group_input(shop, dryRun=True)
    raw["legs"][1]["weightShift"]["healthGate"]["alarmNames"] = ["checkoutv3-5xx"]
    not_ready = shop.run(SM, raw)
    assert not_ready.status == "FAILED" and not_ready.error == "DryRunFoundProblems"
    assert [line for line in (not_ready.cause or "").splitlines() if "PROBLEM" in line] == [
        "  PROBLEM  leg checkout: alarms: healthGate.alarmNames[0]: CloudWatch alarm 'checkoutv3-5xx' does not exist"
    ]
    assert rules(shop) == before and not ready.mutating_calls() and not not_ready.mutating_calls()


# --- a group with an ECS-native leg: payments (VPC Lattice route) then checkout (ECS LINEAR 20%) ----------------------


@pytest.fixture
def apps() -> Iterator[OfflineAccount]:
    """events/local/group-ecs-given.json: the ECS-native deployment's world (checkout, LINEAR 20%, blue/green on VPC
    Lattice) and the payments route beside it."""
    with given_world(EVENTS / "local" / "group-ecs-given.json") as account:
        yield account


def ecs_group(account: OfflineAccount, **gate: Any) -> dict[str, Any]:
    raw = json.loads(account.resolve_input((EVENTS / "group-ecs-lattice.json").read_text()))
    raw["legs"][1]["ecsDeployment"]["healthGate"].update(gate)
    return raw


def payments_rule(account: OfflineAccount) -> dict[str, Any]:
    lattice = account.client("vpc-lattice")
    rule = account.saved["paymentsRule"]
    got = lattice.get_rule(
        serviceIdentifier=account.saved["payments"]["id"],
        listenerIdentifier=account.saved["paymentsListener"]["id"],
        ruleIdentifier=rule["id"],
    )
    return {k: v for k, v in got.items() if k not in ("ResponseMetadata", "lastUpdatedAt")}


def checkout_deployments(account: OfflineAccount) -> list[tuple[str, str]]:
    ecs = account.client("ecs")
    arns = [
        d["serviceDeploymentArn"] for d in ecs.list_service_deployments(cluster="apps", service="checkout")["serviceDeployments"]
    ]
    described = ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"] if arns else []
    return [(d["status"], d["targetServiceRevision"]["arn"].rsplit("/", 1)[-1]) for d in described]


def test_an_ecs_leg_moves_through_ecs_after_the_route_leg_it_waits_for(apps: OfflineAccount) -> None:
    result = apps.run(SM, ecs_group(apps), approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    # at each step payments is written, then checkout's deployment is taken to ECS's pause at (or above) the step
    # (wave by wave: MoveWaves' MoveWaveLegs, one a wave; never the route legs' single MoveLegs call)
    order = [s for s in result.states if s in ("MoveLegs", "MoveWaveLegs", "StartEcsLegs", "ContinueEcsLegs", "CheckLegs")]
    assert order[:5] == ["MoveWaveLegs", "MoveWaveLegs", "StartEcsLegs", "ContinueEcsLegs", "CheckLegs"]
    reached = [
        json.loads(e["stateExitedEventDetails"]["output"])["ecsRead"]
        for e in result.history
        if e.get("stateExitedEventDetails", {}).get("name") == "ReadEcsLegs"
    ]
    held = [read["legs"][0]["percent"] for read in reached if read["state"] == "REACHED"]
    assert held == [20, 60, 100]
    # then ECS finished checkout (every revision on checkout:2) and payments' rule carries only paymentsv2
    assert (
        apps.client("ecs")
        .describe_services(cluster="apps", services=["checkout"])["services"][0]["taskDefinition"]
        .endswith("checkout:2")
    )
    assert [t["weight"] for t in payments_rule(apps)["action"]["forward"]["targetGroups"]] == [100]
    assert result.output["lockReleased"] is True and len(result.output["lockIds"]) == 2
    assert "leg checkout: ECS deployment SUCCESSFUL at 100%" in result.output["summary"]


def test_an_ecs_leg_failing_its_gate_rolls_back_through_ecs_and_the_route_leg_to_its_snapshot(apps: OfflineAccount) -> None:
    """The leg's own gate alarm (checkout-green-5xx; not the deployment's own alarm, on which ECS rolls back by itself)."""
    before = payments_rule(apps)
    judged: list[int] = []
    cloudwatch = apps.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="checkout-green-5xx",
        Namespace="AWS/VpcLattice",
        MetricName="HTTPCode_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=50,
        ComparisonOperator="GreaterThanThreshold",
    )

    def alarm_at_60(event: dict[str, Any]) -> None:
        if "ecsLegs" in event and "legs" in event and event.get("percent") == 60 and not judged:
            judged.append(60)
            cloudwatch.set_alarm_state(AlarmName="checkout-green-5xx", StateValue="ALARM", StateReason="test: 5xx at 60%")

    apps.intercept("CanaryHealthFunction", alarm_at_60)
    result = apps.run(SM, ecs_group(apps, alarmNames=["checkout-green-5xx"]), approver=approve)
    assert result.status == "FAILED" and result.error == "CanaryUnhealthy"
    assert (result.cause or "").startswith("at 60%: leg checkout: UNHEALTHY: alarm checkout-green-5xx is in ALARM")
    assert payments_rule(apps) == before  # the route leg, whole
    assert [status for status, _ in checkout_deployments(apps)] == ["ROLLBACK_SUCCESSFUL"]
    assert (
        apps.client("ecs")
        .describe_services(cluster="apps", services=["checkout"])["services"][0]["taskDefinition"]
        .endswith("checkout:1")
    )
    assert "leg checkout: ECS deployment ROLLED_BACK" in (result.cause or "")


def test_a_group_with_an_ecs_leg_stopped_mid_step_is_rolled_back_by_the_clean_up(apps: OfflineAccount) -> None:
    before = payments_rule(apps)
    reads: list[str] = []

    def stop_while_ecs_moves_to_60(event: dict[str, Any]) -> None:
        if event.get("mode") == "step" and event.get("percent") == 60 and not reads:
            reads.append(event["executionArn"])
            stop_execution(apps, event["executionArn"])

    apps.intercept("EcsDeploymentStatusFunction", stop_while_ecs_moves_to_60)
    result = apps.run(SM, ecs_group(apps), approver=approve)
    assert result.status == "ABORTED"
    assert payments_rule(apps) != before
    done = clean_up(apps, result.execution_arn)
    assert payments_rule(apps) == before
    # checkout (the last wave) is rolled back first, then payments is put back
    assert done["done"][0].startswith("leg checkout: ECS deployment") and done["done"][0].endswith("released")
    assert done["done"][1].startswith("legs: leg payments at its snapshot")
    # ECS rolls back on its own time (the emulator's engine thread, as ECS does): its outcome, once it is there
    assert wait_for("checkout's rollback", lambda: checkout_deployments(apps)[0][0] == "ROLLBACK_SUCCESSFUL")
    assert service_task_definition(apps, "checkout") == "checkout:1"


def test_a_group_dry_run_checks_an_ecs_leg_as_its_own_dry_run_would(apps: OfflineAccount) -> None:
    report = apps.run(SM, {**ecs_group(apps), "dryRun": True})
    assert report.status == "SUCCEEDED" and report.output["ready"] is True
    text = report.output["text"]
    assert "leg checkout:\n  service: apps/checkout (runs checkout:1)\n  deploys: checkout:2 with LINEAR" in text
    checks = [c["check"] for c in report.output["checks"]]
    assert "leg checkout: permissions" in checks and "leg checkout: approval" not in checks
    assert [c["detail"] for c in report.output["checks"] if c["status"] == "warning"] == [
        next(c["detail"] for c in report.output["checks"] if c["check"] == "approval")
    ]
    assert not report.mutating_calls()


def test_an_approval_given_while_a_leg_is_unhealthy_moves_no_leg_and_rolls_every_leg_back(
    shop: OfflineAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rules(shop)
    written = writes(monkeypatch)

    def alarm_then_approve(pending: PendingApproval) -> tuple[bool, str]:
        shop.client("cloudwatch").set_alarm_state(AlarmName="checkoutv2-5xx", StateValue="ALARM", StateReason="test: 5xx")
        return True, "looks fine to me"

    result = shop.run(SM, group_input(shop), approver=alarm_then_approve)
    assert result.status == "FAILED" and result.error == "CanaryUnhealthy"
    assert (result.cause or "").startswith("approved, but before the step to 100%: leg checkout: UNHEALTHY: alarm checkoutv2-5xx")
    assert not [w for _, w in written if any(name.endswith("v2") and weight == 100 for name, weight in w.items())]
    assert rules(shop) == before


def test_a_leg_set_back_by_hand_stays_where_it_was_set_and_the_others_roll_back(shop: OfflineAccount) -> None:
    """checkout set back by hand to the 10% step's weights (which this rollout wrote) while the group waits for its
    approval: its step to 100% finds it drifted, the group rolls back, and checkout stays as it was set."""
    before = rules(shop)
    at_10 = {"checkout": 90, "checkoutv2": 10}

    def set_back_then_approve(pending: PendingApproval) -> tuple[bool, str]:
        from mesh_rollout.traffic import route_for

        checkout = route_for(next(leg for leg in pending.item["legs"] if leg["name"] == "checkout")["route"])
        checkout.write(at_10, checkout.read())
        return True, "go"

    result = shop.run(SM, group_input(shop), approver=set_back_then_approve)
    assert (result.status, result.error) == ("FAILED", "RouteDrifted")
    after = rules(shop)
    assert (after["payments"], after["frontend"]) == (before["payments"], before["frontend"])  # byte for byte
    assert sorted(weights_of(after["checkout"]).values()) == [10, 90]  # as set by hand, not the snapshot's 100 / 0
    assert "leg checkout not restored: RouteDrifted: route checkout" in (result.cause or "")


# --- releases: route legs that deploy a new image to their canary first ---------------------------------------------


def with_releases(raw: dict[str, Any]) -> dict[str, Any]:
    """payments releases example/paymentsv2:2.0 (imageDefinitions), checkout example/checkoutv2:2.0 (canaryImage)."""
    raw["legs"][0]["weightShift"]["imageDefinitions"] = [{"name": "app", "imageUri": "example/paymentsv2:2.0"}]
    raw["legs"][1]["weightShift"]["canaryImage"] = "example/checkoutv2:2.0"
    return raw


def canary_image(account: OfflineAccount, service: str) -> str:
    ecs = account.client("ecs")
    running = ecs.describe_services(cluster="shop", services=[service])["services"][0]["taskDefinition"]
    return str(ecs.describe_task_definition(taskDefinition=running)["taskDefinition"]["containerDefinitions"][0]["image"])


def test_route_legs_release_their_new_images_before_the_first_step(shop: OfflineAccount) -> None:
    result = shop.run(SM, with_releases(group_input(shop)), approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    states = result.states
    assert states.index("CheckReleases") < states.index("GroupSteps")
    assert (canary_image(shop, "paymentsv2"), canary_image(shop, "checkoutv2")) == (
        "example/paymentsv2:2.0",
        "example/checkoutv2:2.0",
    )
    assert [sorted(weights_of(rule).values()) for rule in rules(shop).values()] == [[100]] * 3


def test_a_failed_group_puts_its_released_canaries_back_on_their_revisions(failing_shop: OfflineAccount) -> None:
    before = (canary_image(failing_shop, "paymentsv2"), canary_image(failing_shop, "checkoutv2"))
    rules_before = rules(failing_shop)
    result = failing_shop.run(SM, with_releases(group_input(failing_shop)), approver=approve)
    assert result.status == "FAILED" and result.error == "CanaryUnhealthy"
    assert rules(failing_shop) == rules_before
    assert (canary_image(failing_shop, "paymentsv2"), canary_image(failing_shop, "checkoutv2")) == before
    assert "leg payments: ECS service shop/paymentsv2 put back on paymentsv2:1" in (result.cause or "")


def test_a_group_stopped_after_its_releases_is_put_back_by_the_clean_up(shop: OfflineAccount) -> None:
    before = (canary_image(shop, "paymentsv2"), canary_image(shop, "checkoutv2"))
    rules_before = rules(shop)
    judged: list[str] = []

    def stop_at_10(event: dict[str, Any]) -> None:
        if "legs" in event and not judged:
            judged.append(event["executionArn"])
            stop_execution(shop, event["executionArn"])

    shop.intercept("CanaryHealthFunction", stop_at_10)
    result = shop.run(SM, with_releases(group_input(shop)), approver=approve)
    assert result.status == "ABORTED"
    assert canary_image(shop, "paymentsv2") == "example/paymentsv2:2.0"
    done = clean_up(shop, result.execution_arn)
    assert rules(shop) == rules_before
    assert (canary_image(shop, "paymentsv2"), canary_image(shop, "checkoutv2")) == before, done


def test_a_failed_group_is_notified_once_by_its_own_finish(failing_shop: OfflineAccount) -> None:
    result = failing_shop.run(SM, group_input(failing_shop), approver=approve)
    assert result.status == "FAILED"
    # EventBridge then delivers the execution's end to the status-change function: it says nothing more
    handled = clean_up(failing_shop, result.execution_arn, status="FAILED")
    assert handled.get("notice") == "sent by the execution's FinishGroup" and "notified" not in handled


def test_an_ecs_leg_ecs_rolled_back_by_itself_fails_its_gate_with_ecs_reason(apps: OfflineAccount) -> None:
    before = payments_rule(apps)
    ecs = apps.client("ecs")

    def ecs_alarm_at_60(event: dict[str, Any]) -> None:
        if "ecsLegs" in event and "legs" in event and event.get("percent") == 60 and event.get("checks") == 0:
            apps.client("cloudwatch").set_alarm_state(AlarmName="checkout-5xx", StateValue="ALARM", StateReason="test: 5xx")
            # ECS rolls back on its own (its deploymentConfiguration.alarms): the gate reads once it has
            wait_for("ECS's own rollback", lambda: checkout_deployments(apps)[0][0].startswith("ROLLBACK"))

    apps.intercept("CanaryHealthFunction", ecs_alarm_at_60)
    result = apps.run(SM, ecs_group(apps), approver=approve)
    assert result.status == "FAILED" and result.error == "CanaryUnhealthy"
    assert (result.cause or "").startswith("at 60%: leg checkout: UNHEALTHY: ECS deployment ROLLBACK_")
    assert payments_rule(apps) == before
    assert wait_for("checkout's rollback", lambda: checkout_deployments(apps)[0][0] == "ROLLBACK_SUCCESSFUL")
    assert ecs.describe_services(cluster="apps", services=["checkout"])["services"][0]["taskDefinition"].endswith("checkout:1")
