"""The guide's shift (75/25 -> 50/50 -> 100, approval before 100) on every traffic backend, offline.

The scenarios of tests/offline/test_weight_shift.py (App Mesh), run through the one WeightShiftStateMachine on the App
Mesh route, a VPC Lattice listener rule and an ALB listener rule: the outcome and the error are the same on every
backend; the rule's weights are checked after every step, and after every rollback the rule is byte-equal to its
snapshot. The rollback scenarios are written here only, once for the three backends.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.report import segments
from mesh_rollout_local.runner import OfflineAccount, RunResult, StillClock
from tests.conftest import EVENTS, ROOT, load_json
from tests.support import GIVEN, SHAPES, Backend, approve, clean_up, fail_next_deployment

SM = "WeightShiftStateMachine"


@pytest.fixture(params=["lattice", "alb"])
def new_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Lattice and ALB only: what App Mesh has no equivalent of (target groups, metric presets)."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True, clock=StillClock()) as account:
        account.apply_given(load_json(EVENTS / "local" / GIVEN[request.param]), EVENTS / "local")
        yield Backend(request.param, account, *SHAPES[request.param])


def test_the_guides_shift_runs_with_the_same_steps_on_every_backend(backend: Backend) -> None:
    b = backend
    assert b.weights() == b.w(75, 25)
    seen: list[dict[str, int]] = []

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        seen.append(b.weights())  # approval comes after the 50% step
        assert pending.describe() == f"the step to 100% on route {b.label}"
        return True, "fine"

    judged: list[dict[str, int]] = []
    b.account.intercept("CanaryHealthFunction", lambda event: judged.append(b.weights()))
    result = b.account.run(SM, b.shift_input(), approver=approver)
    assert result.status == "SUCCEEDED", result.cause
    assert seen == [b.w(50, 50)]
    # the rule as each gate saw it: after the 50% step, once more after the approval, after the 100% step
    assert judged == [b.w(50, 50), b.w(50, 50), b.w(0, 100)]
    assert b.weights() == {b.canary: 100}  # finalize took stable off the action
    assert result.output["summary"] == f"weight shift succeeded: route {b.label} is at {b.canary} 100"
    assert [s["weights"] for s in result.output["steps"]] == [b.w(50, 50), b.w(0, 100)]
    assert all(s["health"]["state"] == "HEALTHY" for s in result.output["steps"])
    assert b.traffic_writes(result) == 3  # one per step, one to finalize
    assert b.lock() is None
    again = b.account.run(SM, b.shift_input())
    assert again.output["status"] == "NOTHING_TO_DO" and again.mutating_calls() == {}


def _alarm_before_start(b: Backend) -> RunResult:
    b.set_alarm("ALARM")
    return b.account.run(SM, b.shift_input(), approver=approve)


def _alarm_at_second_step(b: Backend) -> RunResult:
    def approver(pending: PendingApproval) -> tuple[bool, str]:
        b.set_alarm("ALARM")
        return True, "go"

    return b.account.run(SM, b.shift_input(), approver=approver)


def _rejected(b: Backend) -> RunResult:
    return b.account.run(SM, b.shift_input(), approver=lambda pending: (False, "p99 too high"))


def _approval_timeout(b: Backend) -> RunResult:
    shift = b.shift_input()
    shift["approval"]["timeoutSeconds"] = 1
    return b.account.run(SM, shift, approver=lambda pending: None)


def _failing_canary_deployment(b: Backend) -> RunResult:
    fail_next_deployment(b.account, "serviceBv2")
    b.account.client("ecs").update_service(cluster="apps", service="serviceBv2", forceNewDeployment=True)
    return b.account.run(SM, b.shift_input(), approver=approve)


# The five ways the guide's shift is rolled back, written once and run on every backend (App Mesh included): the
# error, how the cause starts, and what else it must say (a rejection records who rejected it and why).
ROLLBACKS = [
    ("alarm before the first step", _alarm_before_start, "CanaryUnhealthy", "at 50%: UNHEALTHY: alarm {alarm} is in ALARM", []),
    (
        "alarm when the 100% step is approved",
        _alarm_at_second_step,
        "CanaryUnhealthy",
        "approved, but before the step to 100%: UNHEALTHY: alarm {alarm} is in ALARM",
        [],
    ),
    (
        "rejection",
        _rejected,
        "ApprovalRejected",
        "the step to 100% was rejected",
        ['"approved":false', '"comment":"p99 too high"', '"approver":"arn:aws:'],
    ),
    (
        "approval timeout",
        _approval_timeout,
        "ApprovalTimedOut",
        "nobody answered the approval request for the step to 100%",
        [],
    ),
    (
        "failing canary deployment",
        _failing_canary_deployment,
        "CanaryUnhealthy",
        "at 50%: UNHEALTHY: ECS service apps/serviceBv2",
        [],
    ),
]


@pytest.mark.parametrize(("case", "scenario", "error", "cause", "says"), ROLLBACKS, ids=[r[0] for r in ROLLBACKS])
def test_a_rollback_puts_the_rule_back_byte_for_byte_on_every_backend(
    backend: Backend, case: str, scenario: Any, error: str, cause: str, says: list[str]
) -> None:
    b = backend
    snapshot = json.dumps(b.raw(), sort_keys=True)
    result = scenario(b)
    assert (result.status, result.error) == ("FAILED", error), result.cause
    assert (result.cause or "").startswith(cause.format(alarm=b.alarm)), result.cause
    assert f"Rolled back: route {b.label} is at {b.stable} 75 / {b.canary} 25" in (result.cause or "")
    assert all(part in (result.cause or "") for part in says), result.cause
    assert json.dumps(b.raw(), sort_keys=True) == snapshot
    assert b.lock() is None
    assert "RestoreLegs" in result.states
    assert b.account.notifications()[-1]["subject"].endswith(error)


def test_weights_changed_by_hand_mid_rollout_stop_it_and_survive_on_every_backend(backend: Backend) -> None:
    b = backend

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        b.set_weights(b.w(90, 10))
        return True, "go"

    result = b.account.run(SM, b.shift_input(), approver=approver)
    assert (result.status, result.error) == ("FAILED", "RouteDrifted")
    assert f"{b.stable} 90 / {b.canary} 10, which this rollout did not write" in (result.cause or "")
    # the hand-set weights are left alone: no rollback is tried, and the only write is the 50% step's
    assert "RollBackWaves" not in result.states and "RestoreLegs" not in result.states
    assert b.traffic_writes(result) == 1
    assert b.weights() == b.w(90, 10)
    assert b.lock() is None


def test_a_second_rollout_of_the_rule_fails_fast_on_every_backend(backend: Backend) -> None:
    b = backend
    seen: dict[str, Any] = {}

    def approver(pending: PendingApproval) -> tuple[bool, str]:
        before = b.raw()
        seen["second"] = b.account.run(SM, b.shift_input(), approver=approve)
        seen["unchanged"] = b.raw() == before
        return True, "first"

    first = b.account.run(SM, b.shift_input(), approver=approver)
    second: RunResult = seen["second"]
    assert (second.status, second.error) == ("FAILED", "RolloutInProgress")
    assert f"locked by {first.execution_arn}" in (second.cause or "")
    assert b.traffic_writes(second) == 0 and seen["unchanged"]
    assert first.status == "SUCCEEDED" and b.weights() == {b.canary: 100}


def test_a_shift_stopped_when_its_bake_ends_is_restored_by_the_status_change_handler(backend: Backend) -> None:
    b = backend
    snapshot = json.dumps(b.raw(), sort_keys=True)
    stopped_at: list[dict[str, int]] = []

    def stop_before_the_gate(event: dict[str, Any]) -> None:
        if not stopped_at:  # the first health check comes right after the 50% step's bake
            stopped_at.append(b.weights())
            b.account.client("stepfunctions").stop_execution(executionArn=event["executionArn"], error="Operator")

    b.account.intercept("CanaryHealthFunction", stop_before_the_gate)
    stopped = b.account.run(SM, b.shift_input(), approver=approve)
    assert stopped.status == "ABORTED"
    assert stopped_at == [b.w(50, 50)]
    done = clean_up(b.account, stopped.execution_arn)["done"]
    assert done[0] == f"route {b.label} restored to its snapshot {b.stable} 75 / {b.canary} 25", done
    assert json.dumps(b.raw(), sort_keys=True) == snapshot
    assert b.lock() is None


def test_step_mode_walks_up_one_step_per_tick_then_finalizes_on_every_backend(backend: Backend) -> None:
    b = backend
    tick = {k: v for k, v in b.shift_input().items() if k not in ("steps", "approval")}
    tick.update(mode="increment", stepPercent=25)
    seen = []
    for _ in range(5):
        result = b.account.run(SM, tick)
        assert result.status == "SUCCEEDED", result.cause
        seen.append((b.weights(), b.traffic_writes(result)))
    assert seen == [
        (b.w(50, 50), 1),
        (b.w(25, 75), 1),
        (b.w(0, 100), 1),
        ({b.canary: 100}, 1),
        ({b.canary: 100}, 0),
    ]


STATES_PER_STEP = 6  # at most, for a step without approval whose first health check decides (issue 13)


def test_a_step_without_approval_enters_at_most_6_states_and_reads_and_writes_the_rule_once_on_every_backend(
    backend: Backend,
) -> None:
    """Per step: the states entered, the Lambda invocations and the traffic API calls, from the execution history.
    Step mode (gated before the step) first, 25 -> 50; then plan mode 50 -> 75 -> 90 -> 100, approval before 100."""
    b = backend
    tick = {k: v for k, v in b.shift_input().items() if k not in ("steps", "approval")}
    tick.update(mode="increment", stepPercent=25)
    ticked = b.account.run(SM, tick)
    assert ticked.status == "SUCCEEDED", ticked.cause
    _, step, _ = segments(ticked)
    assert len(step.states) <= STATES_PER_STEP, step.states
    assert (step.invocations, step.traffic_reads, step.traffic_writes) == (1, 1, 1), (step.states, step.calls)

    result = b.account.run(SM, {**b.shift_input(), "steps": [75, 90, 100]}, approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    _, *steps, _ = segments(result)
    assert [("RequestGroupApproval" in s.states) for s in steps] == [False, False, True]
    for s in steps[:2]:
        assert len(s.states) <= STATES_PER_STEP, s.states
        assert s.invocations == 2, s.states  # the write, then the health gate after the bake
    assert [(s.traffic_reads, s.traffic_writes) for s in steps] == [(1, 1)] * 3, [s.calls for s in steps]
    assert b.weights() == {b.canary: 100}


def test_a_release_deploys_the_canary_image_then_moves_traffic_on_every_backend(backend: Backend) -> None:
    b = backend
    shift = {**b.shift_input(), "canaryImage": "example/servicebv2:1.1", "canaryContainer": "app"}
    if b.name == "appmesh":  # a virtual node names no ECS service; a target group's service is found from it
        shift["canaryEcsService"] = {"cluster": "apps", "service": "serviceBv2"}
    result = b.account.run(SM, shift, approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    ecs = b.account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["taskDefinition"]
    task = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert {c["name"]: c["image"] for c in task["containerDefinitions"]}["app"] == "example/servicebv2:1.1"
    assert result.states.index("CheckReleases") < result.states.index("GroupSteps")
    assert b.weights() == {b.canary: 100}


def _other_vpc_group(b: Backend) -> str:
    """A target group of the right protocol in another VPC, put on the action with weight 0; returns its name."""
    vpc = b.account.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    if b.name == "lattice":
        lattice = b.account.client("vpc-lattice")
        group = lattice.create_target_group(
            name="elsewhere", type="IP", config={"port": 9080, "protocol": "HTTP", "vpcIdentifier": vpc}
        )
        rule = b.raw()["action"]
        rule["forward"]["targetGroups"].append({"targetGroupIdentifier": group["id"], "weight": 0})
        saved = b.account.saved
        lattice.update_rule(
            serviceIdentifier=saved["serviceb"]["id"],
            listenerIdentifier=saved["listener"]["id"],
            ruleIdentifier=saved["rule"]["id"],
            action=rule,
        )
    else:  # an ALB cannot forward to another VPC's target group at all (its own API refuses)
        b.account.client("elbv2").create_target_group(Name="elsewhere", Protocol="HTTP", Port=9080, VpcId=vpc, TargetType="ip")
    return "elsewhere"


def _spare_group(b: Backend) -> str:
    """A target group of the same VPC that no rule forwards to."""
    if b.name == "lattice":
        vpc = b.account.saved["vpc"]["Vpc"]["VpcId"]
        config = {"port": 9080, "protocol": "HTTP", "vpcIdentifier": vpc}
        b.account.client("vpc-lattice").create_target_group(name="servicebv3", type="IP", config=config)
        return "servicebv3"
    vpc = b.account.saved["vpc"]["Vpc"]["VpcId"]
    b.account.client("elbv2").create_target_group(Name="serviceBv3", Protocol="HTTP", Port=9080, VpcId=vpc, TargetType="ip")
    return "serviceBv3"


def test_bad_input_is_refused_naming_the_field_before_any_change(new_backend: Backend) -> None:
    b = new_backend
    lattice = b.name == "lattice"
    good = b.shift_input()
    other_listener = good["listenerArn"][:-4] + "0000" if not lattice else ""
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"canary": "nosuchgroup"}, "UnknownReference", "canary: "),
        ({"stable": "nosuchgroup"}, "UnknownReference", "stable: "),
        ({"canary": b.stable}, "InvalidRolloutInput", "canary: must differ from stable"),
    ]
    if lattice:
        cases += [
            (
                {"serviceIdentifier": "nosuch"},
                "UnknownReference",
                "serviceIdentifier: VPC Lattice service 'nosuch' does not exist",
            ),
            ({"listenerIdentifier": "http-81"}, "UnknownReference", "listenerIdentifier: VPC Lattice listener 'http-81'"),
            ({"ruleIdentifier": "nosuch"}, "UnknownReference", "ruleIdentifier: VPC Lattice rule 'nosuch' does not exist"),
            ({"ruleIdentifier": None}, "InvalidRolloutInput", "listenerIdentifier: its action is fixedResponse, not forward"),
        ]
    else:
        cases += [
            ({"listenerArn": other_listener}, "UnknownReference", "listenerArn: listener "),
            ({"ruleArn": good["ruleArn"][:-4] + "0000"}, "UnknownReference", "ruleArn: rule "),
            ({"ruleArn": None}, "InvalidRolloutInput", "listenerArn: its action is fixed-response, not forward"),
        ]
    spare = _spare_group(b)
    cases.append(({"canary": spare}, "InvalidRolloutInput", f"canary: target group {spare!r} is not forwarded to by"))
    elsewhere = _other_vpc_group(b)
    cases.append(
        ({"canary": elsewhere}, "InvalidRolloutInput", "canary: target group 'elsewhere' is in vpc-")
        if lattice
        else ({"canary": elsewhere}, "InvalidRolloutInput", "canary: target group 'elsewhere' is not forwarded to by rule 10")
    )
    before = json.dumps(b.raw(), sort_keys=True)
    for change, error, message in cases:
        result = b.account.run(SM, {k: v for k, v in {**good, **change}.items() if v is not None})
        assert (result.status, result.error) == ("FAILED", error), (change, result.cause)
        assert json.loads(result.cause or "{}")["errorMessage"].startswith(message), (change, result.cause)
        assert result.states == ["DryRunWanted", "PlanWeightShift"] and result.mutating_calls() == {}, change
        assert json.dumps(b.raw(), sort_keys=True) == before, change


def test_steps_the_0_999_scale_cannot_express_are_refused_and_others_are_written_exactly(new_backend: Backend) -> None:
    b = new_backend
    shift = {**b.shift_input(), "steps": [33, 100], "bakeSeconds": 0, "healthGate": {}}  # weights only: no metrics window
    shift.pop("approval")
    b.set_weights(b.w(700, 299))  # they share 999: 33% of it is 329.67, and 2 x 999 is past the scale
    refused = b.account.run(SM, shift)
    assert (refused.status, refused.error) == ("FAILED", "InvalidRolloutInput")
    assert json.loads(refused.cause or "{}")["errorMessage"].startswith(
        f"steps: 33% of the 999 that '{b.stable}' and '{b.canary}' weigh together cannot be written exactly"
    )
    assert refused.mutating_calls() == {}
    b.set_weights(b.w(3, 1))  # 4 together: x25 gives 33% exactly (67 / 33), the same traffic split as 3 / 1
    seen: list[dict[str, int]] = []
    b.account.intercept("CanaryHealthFunction", lambda event: seen.append(b.weights()))
    result = b.account.run(SM, shift)
    assert result.status == "SUCCEEDED", result.cause
    assert seen[0] == b.w(67, 33)
    assert b.weights() == {b.canary: 100}


def test_the_canary_target_groups_own_metrics_roll_it_back_with_one_input_line(new_backend: Backend) -> None:
    b = new_backend
    snapshot = json.dumps(b.raw(), sort_keys=True)
    given = load_json(EVENTS / "local" / GIVEN[b.name])
    (canary_metrics,) = [c for c in given if c.get("operation") == "put_metric_data"][:1]
    # 300 more 5xx of the canary in the same minute: 302 of its 1,200 requests (25%, above healthGate.maxErrorRate 1%)
    errors = [{**d, "Value": 300} for d in canary_metrics["params"]["MetricData"] if "5XX" in d["MetricName"]]
    b.account.apply_given([{**canary_metrics, "params": {**canary_metrics["params"], "MetricData": errors}}])
    result = b.account.run(SM, b.shift_input(), approver=approve)
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy"), result.cause
    assert (result.cause or "").startswith("at 50%: UNHEALTHY: metric canaryErrorRate = 0.251667, above 0.01. Rolled back: ")
    assert json.dumps(b.raw(), sort_keys=True) == snapshot
    assert b.lock() is None


def test_step_mode_sends_the_pool_back_to_stable_and_halts_when_unhealthy_on_every_backend(backend: Backend) -> None:
    b = backend
    tick = {k: v for k, v in b.shift_input().items() if k not in ("steps", "approval")}
    tick.update(mode="increment", stepPercent=25, whenLocked="skip")
    b.set_alarm("ALARM")
    failed = b.account.run(SM, tick)
    assert (failed.status, failed.error) == ("FAILED", "CanaryUnhealthy")
    assert b.weights() == b.w(100, 0)  # no traffic to the canary until someone resumes it
    b.set_alarm("OK")
    halted = b.account.run(SM, tick)
    assert halted.status == "SUCCEEDED" and halted.output["status"] == "HALTED", halted.output
    assert b.traffic_writes(halted) == 0 and b.weights() == b.w(100, 0)


def test_a_rerun_after_the_shift_deletes_the_retired_stable_target_group_when_asked(new_backend: Backend) -> None:
    b = new_backend
    assert b.account.run(SM, b.shift_input(), approver=approve).status == "SUCCEEDED"
    assert b.weights() == {b.canary: 100}  # the stable group is off the action now
    again = {**b.shift_input(), "finalize": {"removeStableTarget": True, "deleteStableTargetGroup": True}}
    result = b.account.run(SM, again)
    assert result.status == "SUCCEEDED", result.cause
    deleted = "vpc-lattice:DeleteTargetGroup" if b.name == "lattice" else "elbv2:DeleteTargetGroup"
    assert result.mutating_calls().get(deleted) == 1
    third = b.account.run(SM, again)  # and then there is nothing left to do: the stable group is gone, not unknown
    assert third.status == "SUCCEEDED", (third.error, third.cause)
    assert (third.output["status"], third.mutating_calls()) == ("NOTHING_TO_DO", {})
    # an input that does not delete its stable still may not name one that does not exist (a misnamed stable)
    plain = b.account.run(SM, b.shift_input())
    assert (plain.status, plain.error) == ("FAILED", "UnknownReference")


def test_a_release_refuses_to_pick_one_of_several_services_behind_the_canary_group(new_backend: Backend) -> None:
    b = new_backend
    ecs = b.account.client("ecs")
    twin = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]
    registration = (
        {"vpcLatticeConfigurations": twin["deployments"][0]["vpcLatticeConfigurations"]}
        if b.name == "lattice"
        else {"loadBalancers": twin["loadBalancers"]}
    )
    ecs.create_service(
        cluster="apps",
        serviceName="serviceBv2-extra",
        taskDefinition=twin["taskDefinition"],
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=twin["networkConfiguration"],
        **registration,
    )
    result = b.account.run(SM, {**b.shift_input(), "canaryImage": "example/servicebv2:1.1"})
    assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput")
    assert json.loads(result.cause or "{}")["errorMessage"].startswith(
        "canaryEcsService: ECS services apps/serviceBv2, apps/serviceBv2-extra all register in target group"
    )
    assert result.mutating_calls() == {}


def test_finalize_will_not_retire_a_stable_group_that_still_serves_another_rule(new_backend: Backend) -> None:
    b = new_backend
    saved = b.account.saved
    stable_id = {name: identifier for identifier, name in b.group_names().items()}[b.stable]
    if b.name == "lattice":  # the listener's default action sends everything else to the stable group
        b.account.client("vpc-lattice").update_listener(
            serviceIdentifier=saved["serviceb"]["id"],
            listenerIdentifier=saved["listener"]["id"],
            defaultAction={"forward": {"targetGroups": [{"targetGroupIdentifier": stable_id, "weight": 100}]}},
        )
        where = "listener http-80 default action"
    else:
        b.account.client("elbv2").modify_listener(
            ListenerArn=saved["listener"]["Listeners"][0]["ListenerArn"],
            DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": stable_id, "Weight": 1}]}}],
        )
        where = "listener 80 default actions"
    shift = {**b.shift_input(), "finalize": {"removeStableTarget": True, "scaleStableServiceToZero": True}}
    result = b.account.run(SM, shift)
    assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput")
    assert json.loads(result.cause or "{}")["errorMessage"] == (
        f"finalize.scaleStableServiceToZero: target group {b.stable!r} also receives traffic from {where}:"
        " retiring it would cut that off"
    )
    assert result.mutating_calls() == {}


def test_the_gate_reads_its_window_by_the_clock_the_given_world_stamps_its_metrics_with() -> None:
    """However late a run reaches its gate (a loaded machine), it sees the world's metrics: the gate's window and
    the given file's {{given:now-N}} read the account's clock, which the test holds still. It is a day behind the
    wall clock here, so a gate reading the wall clock would find no data and stay PENDING."""
    clock = StillClock(dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1))
    with OfflineAccount(ROOT / "template.yaml", clock=clock) as account:
        account.apply_given(load_json(EVENTS / "local" / "alb-given.json"), EVENTS / "local")
        shift = json.loads(account.resolve_input((EVENTS / "weight-shift-alb.json").read_text()))
        shift["healthGate"]["maxPendingChecks"] = 0  # no re-check: the first look decides
        result = account.run(SM, {**shift, "approval": None})
    assert result.status == "SUCCEEDED", result.cause
    metrics = "metric canaryErrorRate = 0.00166667 (unhealthy when above 0.01); metric canaryLatency = 0.042 (unhealthy"
    assert [step["health"]["summary"].split("running; ")[-1] for step in result.output["steps"]] == [
        f"{metrics} when above 0.25)"
    ] * 2
