"""A group's plan (grouping.plan): each leg planned as a route alone, by a fake plan_route standing in for
shifting.plan.plan_weight_shift (which reads AWS), then put on the group's steps, its order and its lock's lifetime."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput, TransientAwsError, UnknownReference
from mesh_rollout.grouping.inputs import parse_group
from mesh_rollout.grouping.plan import at_leg, leg_input, plan_group, plan_leg, route_alone
from mesh_rollout.shifting.plan import LOCK_MARGIN_SECONDS, WeightShiftPlan
from tests.conftest import EVENTS, load_json

SCHEDULE = ("steps", "stepPercent", "bakeSeconds", "approval", "mode", "whenLocked", "dryRun")


def lattice(service: str, **fields: Any) -> dict[str, Any]:
    """A VPC Lattice route's weight shift as a leg takes it: the example's input without the group's fields."""
    raw = load_json(EVENTS / "weight-shift-lattice.json")
    raw.update(serviceIdentifier=f"svc-{service}", ruleIdentifier=f"rule-{service}", stable=service, canary=f"{service}v2")
    return {**{k: v for k, v in raw.items() if k not in SCHEDULE}, **fields}


def leg(name: str, after: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"name": name, **({"after": after} if after is not None else {}), "weightShift": lattice(name, **fields)}


def group(*legs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"legs": list(legs), "steps": [10, 50, 100], "bakeSeconds": 300, **fields}


class FakePlanner:
    """plan_weight_shift as a group's leg sees it: the route's weights now, by stable name (else all on stable),
    each leg's gate and settle from its input; records every input it was given."""

    def __init__(self, weights: dict[str, dict[str, int]] | None = None, **plans: dict[str, Any]) -> None:
        self.weights = weights or {}
        self.plans = plans  # by stable name: fields of the plan to give instead (lockId, release, finalize ...)
        self.given: list[dict[str, Any]] = []

    def __call__(self, own: Any) -> WeightShiftPlan:
        self.given.append(own)
        stable, canary, settle = own["stable"], own["canary"], own.get("settleSeconds", 0)
        plan: dict[str, Any] = {
            "route": {
                "backend": "lattice",
                "service": f"svc-{stable}",
                "listener": "listener-http-80",
                "rule": f"rule-{stable}",
                "label": f"{stable}/http-80/{stable}",
                "targets": {stable: f"tg-{stable}", canary: f"tg-{canary}"},
            },
            "stable": stable,
            "canary": canary,
            "mode": own["mode"],
            "whenLocked": "fail",
            "lockId": f"lattice:svc-{stable}/listener-http-80/rule-{stable}",
            "lockSeconds": 1,
            "fromPercent": 0,
            "plannedWeights": self.weights.get(stable, {stable: 1, canary: 0}),
            "steps": [],
            "bakeSeconds": own["bakeSeconds"],
            "waitSeconds": settle + own["bakeSeconds"],
            "healthGate": {"alarmNames": [f"{canary}-5xx"], "recheckSeconds": 30, "maxPendingChecks": 10, **own["healthGate"]},
            "preStepGate": {},
            "approvalTimeoutSeconds": 0,
            "finalize": {"pending": False},
            "release": {"pending": False},
            "gateFirst": False,
            "nothingToDo": False,
            "idle": {"status": "NOTHING_TO_DO", "reason": "-"},
        }
        plan.update(self.plans.get(stable, {}))
        return plan  # type: ignore[return-value]


# what the group reads of an ECS leg's plan besides its steps and lock (deploying.plan.EcsDeploymentPlan)
ECS_PLAN: dict[str, Any] = {
    "healthGate": {"recheckSeconds": 60, "maxPendingChecks": 10},
    "bakeSeconds": {"step": 600, "final": 600},
    "settleSeconds": 90,
    "hookTimeoutMinutes": 1470,
    "deploymentConfiguration": {
        "strategy": "CANARY",
        "lifecycleHooks": [
            {
                "targetType": "PAUSE",
                "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 1470, "action": "ROLLBACK"},
            },
            {
                "targetType": "AWS_LAMBDA",
                "hookTargetArn": "arn:aws:lambda:us-west-2:1:function:theirs",
                "lifecycleStages": ["POST_SCALE_UP"],
            },
        ],
    },
}


def planned(raw: dict[str, Any], planner: Callable[[Any], WeightShiftPlan]) -> Any:
    return plan_group(raw, None, None, plan_route=planner)


def refused(raw: dict[str, Any], planner: Callable[[Any], WeightShiftPlan] | None = None) -> InvalidRolloutInput:
    with pytest.raises(InvalidRolloutInput) as caught:
        planned(raw, planner or FakePlanner())
    return caught.value


# --- a leg ----------------------------------------------------------------------------------------


def test_a_leg_is_planned_from_its_own_input_on_the_groups_schedule_in_plan_mode() -> None:
    raw = group(leg("a", settleSeconds=60), bakeSeconds=120, approval={"beforeSteps": [100], "timeoutSeconds": 600})
    spec = parse_group(raw)
    own = leg_input(spec.legs[0], raw, spec)
    assert own == {**raw["legs"][0]["weightShift"], "steps": [10, 50, 100], "bakeSeconds": 120, "mode": "plan"}
    assert "approval" not in own  # the group asks once per step for every leg


def test_a_leg_at_zero_moves_at_every_group_step_on_its_scale() -> None:
    raw = group(leg("a", settleSeconds=60))
    spec = parse_group(raw)
    plan = plan_leg(spec.legs[0], raw, spec, FakePlanner())
    assert plan["steps"] == [
        {"percent": 10, "previous": {"a": 1, "av2": 0}, "weights": {"a": 9, "av2": 1}},
        {"percent": 50, "previous": {"a": 9, "av2": 1}, "weights": {"a": 5, "av2": 5}},
        {"percent": 100, "previous": {"a": 5, "av2": 5}, "weights": {"a": 0, "av2": 10}},
    ]
    assert (plan["name"], plan["after"], plan["stable"], plan["canary"]) == ("a", [], "a", "av2")
    assert plan["lockId"] == "lattice:svc-a/listener-http-80/rule-a"
    assert plan["settleSeconds"] == 60  # the leg's wait without the group's bake


def test_a_leg_already_at_fifty_percent_keeps_its_weights_at_the_ten_percent_step() -> None:
    # Given b's route is at 50% already, a's at 0%
    raw = group(leg("a"), leg("b", ["a"]))
    plan = planned(raw, FakePlanner({"b": {"b": 50, "bv2": 50}}))
    a, b = plan["legs"]
    # Then b's steps line up with a's: nothing to write at 10% or 50%, then 100% on its own scale
    assert [s["percent"] for s in b["steps"]] == [s["percent"] for s in a["steps"]] == [10, 50, 100]
    assert b["steps"] == [
        {"percent": 10, "previous": {"b": 50, "bv2": 50}, "weights": {"b": 50, "bv2": 50}},
        {"percent": 50, "previous": {"b": 50, "bv2": 50}, "weights": {"b": 50, "bv2": 50}},
        {"percent": 100, "previous": {"b": 50, "bv2": 50}, "weights": {"b": 0, "bv2": 100}},
    ]
    assert not plan["nothingToDo"]


def test_a_legs_input_problem_is_named_at_its_place_in_the_group_in_its_own_class() -> None:
    spec = parse_group(group(leg("a"), leg("b")))
    b = spec.legs[1]
    moved = at_leg(UnknownReference("canary", "no target group bv2", ("healthGate.alarmNames[0]", "no alarm")), b)
    assert type(moved) is UnknownReference
    assert moved.problems == [
        ("legs[1].weightShift.canary", "no target group bv2"),
        ("legs[1].weightShift.healthGate.alarmNames[0]", "no alarm"),
    ]
    # a problem of the leg's whole input is at the leg's own field
    whole = at_leg(InvalidRolloutInput("(input)", "no route"), b)
    assert isinstance(whole, InvalidRolloutInput) and whole.problems == [("legs[1].weightShift", "no route")]
    # any other error keeps its class and names the leg
    transient = at_leg(TransientAwsError("GetRule: Throttling"), b)
    assert type(transient) is TransientAwsError and str(transient) == "leg 'b': GetRule: Throttling"


def test_plan_group_raises_a_legs_problem_at_its_place() -> None:
    def planner(own: Any) -> WeightShiftPlan:
        if own["stable"] == "b":
            raise UnknownReference("canary", "target group 'bv2' not found")
        return FakePlanner()(own)

    with pytest.raises(UnknownReference) as caught:
        planned(group(leg("a"), leg("b")), planner)
    assert caught.value.problems == [("legs[1].weightShift.canary", "target group 'bv2' not found")]


def test_a_legs_release_is_planned_for_before_the_first_step() -> None:
    raw = group(leg("a"), leg("b", canaryImage="registry/b:v2"))
    release = {
        "pending": True,
        "cluster": "shop",
        "service": "bv2",
        "images": {"app": "registry/b:v2"},
        "pollSeconds": 15,
        "maxChecks": 120,
    }
    plan = planned(raw, FakePlanner(b={"release": release}))
    assert plan["releases"] == [{"name": "b", "lockId": "lattice:svc-b/listener-http-80/rule-b", "release": release}]
    assert plan["lockSeconds"] >= 120 * 15  # the lock outlives the release's deployment too


# --- the group ------------------------------------------------------------------------------------


def test_a_group_is_planned_with_its_order_as_indexes_and_its_schedule() -> None:
    # Given checkout waits for payments; frontend waits for none; approval before 100%
    raw = group(
        leg("checkout", ["payments"], settleSeconds=60),
        leg("payments", healthGate={"alarmNames": ["p-5xx"], "recheckSeconds": 20, "maxPendingChecks": 3}),
        leg("frontend"),
        approval={"beforeSteps": [100], "timeoutSeconds": 3600},
        whenLocked="skip",
    )
    planner = FakePlanner()
    plan = planned(raw, planner)
    # Then every leg was planned alone, in plan mode, on the group's steps
    assert [(g["stable"], g["mode"], g["steps"], g["bakeSeconds"]) for g in planner.given] == [
        (name, "plan", [10, 50, 100], 300) for name in ("checkout", "payments", "frontend")
    ]
    assert plan["group"] == "checkout, payments, frontend"
    assert [g["name"] for g in plan["legs"]] == ["checkout", "payments", "frontend"]
    assert plan["waves"] == [[1, 2], [0]]
    assert [wave["routes"][0] for wave in plan["rollbackOrder"]] == [[0], [1, 2]]
    assert plan["steps"] == [
        {"index": 0, "percent": 10, "previous": 0, "approval": False, "gateAfter": True},
        {"index": 1, "percent": 50, "previous": 10, "approval": False, "gateAfter": True},
        {"index": 2, "percent": 100, "previous": 50, "approval": True, "gateAfter": True},
    ]
    # a group of several legs: its own outputs and texts, every step baked and gated after it moved
    assert (plan["single"], plan["gateFirst"]) == (False, False)
    assert (plan["bakeSeconds"], plan["waitSeconds"], plan["approvalTimeoutSeconds"]) == (300, 360, 3600)
    assert plan["whenLocked"] == "skip"
    assert plan["lockIds"] == [
        "lattice:svc-checkout/listener-http-80/rule-checkout",
        "lattice:svc-payments/listener-http-80/rule-payments",
        "lattice:svc-frontend/listener-http-80/rule-frontend",
    ]
    # the locks live every step's longest settle + bake + longest pending re-checks, each approval, and the margin
    # (the legs' gates: checkout's and frontend's the planner's 10 x 30 s, payments' 3 x 20 s)
    assert plan["lockSeconds"] == 3 * (60 + 300 + 10 * 30) + 3600 + LOCK_MARGIN_SECONDS
    assert (plan["finalizePending"], plan["nothingToDo"]) == (False, False)


def test_the_lock_outlasts_the_longest_pending_gate_of_any_leg() -> None:
    raw = group(leg("a"), leg("b"), steps=[50, 100], bakeSeconds=60)
    planner = FakePlanner(
        a={"healthGate": {"recheckSeconds": 30, "maxPendingChecks": 2}},
        b={"healthGate": {"recheckSeconds": 60, "maxPendingChecks": 5}},
    )
    assert planned(raw, planner)["lockSeconds"] == 2 * (0 + 60 + 300) + LOCK_MARGIN_SECONDS


def test_every_leg_at_the_end_is_nothing_to_do() -> None:
    at_end = {"a": {"a": 0, "av2": 100}, "b": {"b": 0, "bv2": 10}}
    plan = planned(group(leg("a"), leg("b")), FakePlanner(at_end))
    assert plan["nothingToDo"] is True
    assert plan["idle"] == {
        "status": "NOTHING_TO_DO",
        "reason": "every leg is already at the end of the plan",
        "group": "a, b",
    }
    # but one leg's finalize still to do is something to do
    plan = planned(group(leg("a"), leg("b")), FakePlanner(at_end, b={"finalize": {"pending": True}}))
    assert (plan["nothingToDo"], plan["finalizePending"]) == (False, True)
    # and one leg not at the end too
    plan = planned(group(leg("a"), leg("b")), FakePlanner({"a": at_end["a"]}))
    assert plan["nothingToDo"] is False


def test_an_ecs_deployment_leg_is_planned_as_alone_and_held_at_ecs_last_step_at_or_below_each_group_step() -> None:
    # Given a route leg a and an ECS leg checkout (CANARY 10%: ECS's steps are 0, 10 and 100) that waits for a
    ecs = {k: v for k, v in load_json(EVENTS / "ecs-deployment-canary.json").items() if k not in SCHEDULE}
    given: list[dict[str, Any]] = []

    def plan_ecs(own: dict[str, Any]) -> Any:
        given.append(own)
        return {
            "mode": "start",
            "lockId": "ecs:arn:aws:ecs:us-west-2:1:service/apps/checkout",
            "steps": [0, 10, 100],
            "lockSeconds": 7200,
            "maxPolls": 10,
            **ECS_PLAN,
        }

    raw = group(leg("a"), {"name": "checkout", "after": ["a"], "ecsDeployment": ecs}, approval={"beforeSteps": [50]})
    plan = plan_group(raw, None, None, plan_route=FakePlanner(), plan_ecs=plan_ecs)
    # Then it is planned from its own input, the group's approval wait given to its pause hook's timeout
    assert given == [{**ecs, "approval": {"beforeSteps": [100], "timeoutSeconds": 86400}}]
    # and held at ECS's 10% for the group's 10% and 50% (never past the approval before 100%), at 100% for 100%
    ((checkout),) = plan["ecsLegs"]
    assert checkout["targets"] == [10, 10, 100] and checkout["after"] == ["a"]
    assert plan["moveWaves"] == [{"routes": [[0]], "ecs": []}, {"routes": [[]], "ecs": [0]}]
    assert plan["rollbackOrder"] == [{"routes": [[]], "ecs": [0]}, {"routes": [[0]], "ecs": []}]
    assert plan["lockIds"] == ["lattice:svc-a/listener-http-80/rule-a", "ecs:arn:aws:ecs:us-west-2:1:service/apps/checkout"]
    assert plan["waves"] == [[0], []] and plan["nothingToDo"] is False


def test_an_ecs_leg_gating_a_deployment_someone_else_started_or_releasing_images_is_refused_before_any_call() -> None:
    ecs = {k: v for k, v in load_json(EVENTS / "ecs-deployment-canary.json").items() if k not in SCHEDULE}
    arn = "arn:aws:ecs:us-west-2:123456789012:service-deployment/apps/checkout/abc"
    gated = {k: v for k, v in ecs.items() if k not in ("taskDefinition", "deploymentConfiguration")} | {
        "serviceDeploymentArn": arn
    }
    images = {k: v for k, v in ecs.items() if k != "taskDefinition"} | {"imageDefinitions": [{"name": "app", "imageUri": "x:2"}]}
    planned: list[Any] = []
    for own, field in ((gated, "serviceDeploymentArn"), (images, "imageDefinitions")):
        with pytest.raises(InvalidRolloutInput) as caught:
            plan_group(
                group(leg("a"), {"name": "checkout", "ecsDeployment": own}),
                None,
                None,
                plan_route=FakePlanner(),
                plan_ecs=planned.append,
            )
        assert [where for where, _ in caught.value.problems] == [f"legs[1].ecsDeployment.{field}"]
    assert planned == []
    with pytest.raises(InvalidRolloutInput) as caught:
        plan_group(
            group(leg("a"), {"name": "checkout", "ecsDeployment": ecs}, steps=[10, 50]),
            None,
            None,
            plan_route=FakePlanner(),
            plan_ecs=planned.append,
        )
    assert caught.value.problems == [("steps", "end at 100: ECS finishes checkout's deployment only once it has all the traffic")]


def test_mode_increment_is_refused() -> None:
    planner = FakePlanner()
    error = refused(group(leg("a"), leg("b"), mode="increment"), planner)
    assert error.problems == [("mode", "a group moves in plan mode (every step in one execution)")]
    assert planner.given == []


def test_two_legs_on_one_lock_are_refused_at_the_second() -> None:
    # Given b's route is a's, named another way (its lock id, once resolved, is a's)
    same = {"lockId": "lattice:svc-a/listener-http-80/rule-a"}
    error = refused(group(leg("a"), leg("b"), leg("c")), FakePlanner(b=same))
    assert error.problems == [("legs[1]", "moves lattice:svc-a/listener-http-80/rule-a, as leg 'a' does")]


def test_ecs_legs_whose_reads_could_outgrow_the_history_are_refused_once_planned() -> None:
    """Each of ECS's pauses may take up to the plan's maxPolls reads (9 events each): two LINEAR 10% legs in waves
    of their own, reading up to 100 times at each pause, could pass 20,000 events."""
    ecs = {k: v for k, v in load_json(EVENTS / "ecs-deployment-canary.json").items() if k not in SCHEDULE}

    def plan_ecs(own: dict[str, Any]) -> Any:
        return {
            "mode": "start",
            "lockId": f"ecs:{own['service']}",
            "steps": list(range(0, 101, 10)),
            "lockSeconds": 1,
            "maxPolls": 100,
            **ECS_PLAN,
        }

    one = {"name": "checkout", "ecsDeployment": ecs}
    two = {"name": "orders", "after": ["checkout"], "ecsDeployment": {**ecs, "service": "orders"}}
    assert plan_group(group(one), None, None, plan_route=FakePlanner(), plan_ecs=plan_ecs)["ecsLegs"]
    with pytest.raises(InvalidRolloutInput) as caught:
        plan_group(group(one, two), None, None, plan_route=FakePlanner(), plan_ecs=plan_ecs)
    ((field, problem),) = caught.value.problems
    assert field == "steps" and problem.startswith("3 steps may take 24")


def test_an_ecs_legs_pause_hook_outlasts_what_the_group_may_hold_it_for() -> None:
    """Held at one pause: the approval wait (1 day), the bake (300 s), the longest gate's re-checks (600 s), and every
    ECS leg moving to the step (600 s + 90 s for each of ECS's steps it passes, two at most): 1501 minutes and the
    margin, past the leg's own plan (1470)."""
    ecs = {k: v for k, v in load_json(EVENTS / "ecs-deployment-canary.json").items() if k not in SCHEDULE}

    def plan_ecs(own: dict[str, Any]) -> Any:
        return {
            "mode": "start",
            "lockId": f"ecs:{own['service']}",
            "steps": [0, 10, 100],
            "lockSeconds": 1,
            "maxPolls": 10,
            **ECS_PLAN,
        }

    one = {"name": "checkout", "ecsDeployment": ecs}
    two = {"name": "orders", "ecsDeployment": {**ecs, "service": "orders"}}
    plan = plan_group(
        group(one, two, approval={"beforeSteps": [100], "timeoutSeconds": 86400}),
        None,
        None,
        plan_route=FakePlanner(),
        plan_ecs=plan_ecs,
    )
    minutes = -(-(86400 + 300 + 600 + 2 * 2 * 690) // 60) + 10  # each leg passes ECS's 0 and 10 to reach the 10% step
    for leg in plan["ecsLegs"]:
        ours, theirs = leg["plan"]["deploymentConfiguration"]["lifecycleHooks"]
        assert leg["plan"]["hookTimeoutMinutes"] == minutes == ours["timeoutConfiguration"]["timeoutInMinutes"] == 1511
        assert theirs == ECS_PLAN["deploymentConfiguration"]["lifecycleHooks"][1]  # the user's hook, untouched
    # a leg whose input times its hook itself, shorter than that, is refused at its field
    short = {"name": "orders", "ecsDeployment": {**ecs, "service": "orders", "hookTimeoutMinutes": 1450}}
    with pytest.raises(InvalidRolloutInput) as caught:
        plan_group(
            group(one, short, approval={"beforeSteps": [100], "timeoutSeconds": 86400}),
            None,
            None,
            plan_route=FakePlanner(),
            plan_ecs=plan_ecs,
        )
    assert [field for field, _ in caught.value.problems] == ["legs[1].ecsDeployment.hookTimeoutMinutes"]


def test_a_plan_past_its_share_of_the_state_data_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from mesh_rollout.grouping import plan as group_plan

    monkeypatch.setattr(group_plan, "PLAN_BUDGET_BYTES", 2000)
    error = refused(group(leg("a"), leg("b"), leg("c")))
    ((field, problem),) = error.problems
    assert field == "legs" and problem.startswith("the group's plan is ") and "at most 2000 for the plan" in problem


# --- a route alone: the group of one leg it is ----------------------------------------------------------

LABEL = "apps/serviceB/serviceB"
AT = [{"serviceB": 75, "serviceBv2": 25}, {"serviceB": 50, "serviceBv2": 50}, {"serviceB": 0, "serviceBv2": 100}]


def route_plan(mode: str = "plan", **fields: Any) -> WeightShiftPlan:
    """shifting.plan.plan_weight_shift's plan of the guide's route at 75/25: 50% then 100%, approval before 100%."""
    gated = mode == "plan"
    gate = {"alarmNames": ["serviceBv2-5xx"], "recheckSeconds": 60, "maxPendingChecks": 10}
    plan: dict[str, Any] = {
        "route": {
            "backend": "appmesh",
            "meshName": "apps",
            "virtualRouterName": "serviceB",
            "routeName": "serviceB",
            "label": LABEL,
        },
        "stable": "serviceB",
        "canary": "serviceBv2",
        "mode": mode,
        "whenLocked": "skip",
        "lockId": f"appmesh:{LABEL}",
        "lockSeconds": 91800,
        "fromPercent": 25,
        "plannedWeights": AT[0],
        "steps": [
            {"percent": 50, "previousPercent": 25, "weights": AT[1], "previous": AT[0], "approval": False, "gateAfter": gated},
            {"percent": 100, "previousPercent": 50, "weights": AT[2], "previous": AT[1], "approval": True, "gateAfter": gated},
        ],
        "bakeSeconds": 300,
        "waitSeconds": 330,
        "healthGate": gate,
        "preStepGate": {**gate, "alarmNames": ["serviceBv2-5xx", "serviceB-5xx"]},
        "approvalTimeoutSeconds": 86400,
        "finalize": {"removeStableTarget": True, "pending": True, "weights": {"serviceBv2": 100}},
        "release": {"pending": False},
        "gateFirst": not gated,
        "nothingToDo": False,
        "idle": {"status": "NOTHING_TO_DO", "reason": "already at the end of the plan"},
        **fields,
    }
    return plan  # type: ignore[return-value]


def test_a_route_alone_is_planned_as_a_group_of_its_one_leg_with_its_own_steps() -> None:
    plan = route_alone(route_plan())
    alone = route_plan()
    # its one leg is the route: its own weights at each of its own steps, its gates, finalize and release
    assert plan["legs"] == [
        {
            "name": LABEL,
            "after": [],
            "route": alone["route"],
            "stable": "serviceB",
            "canary": "serviceBv2",
            "lockId": f"appmesh:{LABEL}",
            "plannedWeights": AT[0],
            "fromPercent": 25,
            "steps": [
                {"percent": 50, "previous": AT[0], "weights": AT[1]},
                {"percent": 100, "previous": AT[1], "weights": AT[2]},
            ],
            "healthGate": alone["healthGate"],
            "settleSeconds": 30,
            "finalize": alone["finalize"],
            "release": {"pending": False},
            "single": True,
            "mode": "plan",
            "preStepGate": alone["preStepGate"],
        }
    ]
    # the group's steps: the route's percents, the percent before each, its approval, baked and gated after it
    assert plan["steps"] == [
        {"index": 0, "percent": 50, "previous": 25, "approval": False, "gateAfter": True},
        {"index": 1, "percent": 100, "previous": 50, "approval": True, "gateAfter": True},
    ]
    # one wave, one lock, no ECS leg, no release to deploy
    assert (plan["group"], plan["ecsLegs"], plan["waves"], plan["releases"]) == (LABEL, [], [[0]], [])
    assert plan["moveWaves"] == plan["rollbackOrder"] == [{"routes": [[0]], "ecs": []}]
    assert (plan["lockIds"], plan["lockSeconds"], plan["whenLocked"]) == ([f"appmesh:{LABEL}"], 91800, "skip")
    assert (plan["bakeSeconds"], plan["waitSeconds"], plan["approvalTimeoutSeconds"]) == (300, 330, 86400)
    assert (plan["single"], plan["gateFirst"], plan["finalizePending"], plan["nothingToDo"]) == (True, False, True, False)
    # its outputs are a route's: NothingToDo's names the route, its weights and where the canary is
    assert plan["idle"] == {
        "status": "NOTHING_TO_DO",
        "reason": "already at the end of the plan",
        "route": LABEL,
        "weights": AT[0],
        "canaryPercent": 25,
    }
    own = ("route", "lockId", "mode", "stable", "canary", "fromPercent", "plannedWeights", "release")
    assert {k: plan[k] for k in own} == {k: alone[k] for k in own}  # type: ignore[literal-required]


def test_a_route_alone_in_step_mode_gates_before_its_tick_and_keeps_its_halt() -> None:
    halted = {"status": "HALTED", "reason": "rolled back at 50% (halted by exec-1)"}
    tick = route_plan("increment")["steps"][:1]  # a step-mode tick: one step, not gated after it moved
    plan = route_alone(route_plan("increment", steps=tick, nothingToDo=True, idle=halted))
    assert plan["steps"] == [{"index": 0, "percent": 50, "previous": 25, "approval": False, "gateAfter": False}]
    assert plan["gateFirst"] is True  # the pre-step gate, no bake after the tick
    assert (plan["legs"][0]["mode"], plan["mode"], plan["single"]) == ("increment", "increment", True)
    assert plan["nothingToDo"] is True
    assert plan["idle"] == {**halted, "route": LABEL, "weights": AT[0], "canaryPercent": 25}


def test_a_route_alones_release_is_deployed_first_as_its_own() -> None:
    release = {"pending": True, "service": {"cluster": "apps", "service": "serviceBv2"}, "maxChecks": 30, "pollSeconds": 60}
    plan = route_alone(route_plan(release=release))
    assert plan["releases"] == [{"name": LABEL, "lockId": f"appmesh:{LABEL}", "release": release, "single": True}]
    assert plan["legs"][0]["release"] == plan["release"] == release
