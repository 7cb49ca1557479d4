"""The group input (issue 25): legs on one schedule, every problem found before any AWS call, each naming its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mesh_rollout.deploying.inputs import EcsDeploymentSpec
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.grouping.inputs import MAX_LEGS, check_distinct_locks, parse_group
from mesh_rollout.shifting.inputs import WeightShiftSpec
from tests.conftest import EVENTS, load_json

SCHEDULE = ("steps", "stepPercent", "bakeSeconds", "approval", "mode", "whenLocked", "dryRun")


def lattice(service: str) -> dict[str, Any]:
    """A VPC Lattice route's weight shift as a leg takes it: today's input without the group's fields."""
    raw = load_json(EVENTS / "weight-shift-lattice.json")
    raw.update(serviceIdentifier=f"svc-{service}", ruleIdentifier=f"rule-{service}", stable=service, canary=f"{service}v2")
    return {k: v for k, v in raw.items() if k not in SCHEDULE}


def ecs(service: str) -> dict[str, Any]:
    raw = load_json(EVENTS / "ecs-deployment-canary.json")
    raw.update(service=service, taskDefinition=f"{service}:2")
    return {k: v for k, v in raw.items() if k not in SCHEDULE}


def group(*legs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"legs": list(legs), "steps": [10, 50, 100], "bakeSeconds": 300, **fields}


def leg(name: str, after: list[str] | None = None, **kind: Any) -> dict[str, Any]:
    return {"name": name, **({"after": after} if after is not None else {}), **(kind or {"weightShift": lattice(name)})}


def problems(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRolloutInput) as caught:
        parse_group(raw)
    return caught.value.problems


def fields(raw: Any) -> list[str]:
    return [field for field, _ in problems(raw)]


def test_a_group_of_a_route_and_an_ecs_deployment_is_parsed_with_the_groups_schedule() -> None:
    spec = parse_group(
        group(leg("payments"), leg("checkout", ["payments"], ecsDeployment=ecs("checkout")), approval={"beforeSteps": [50]})
    )
    assert [(g.name, g.kind, g.after, g.field) for g in spec.legs] == [
        ("payments", "weightShift", (), "legs[0].weightShift"),
        ("checkout", "ecsDeployment", ("payments",), "legs[1].ecsDeployment"),
    ]
    assert isinstance(spec.legs[0].spec, WeightShiftSpec) and isinstance(spec.legs[1].spec, EcsDeploymentSpec)
    assert spec.steps == (10, 50, 100) and spec.approval and spec.approval.beforeSteps == [50]
    assert spec.after == {"payments": [], "checkout": ["payments"]}


def test_a_plain_weight_shift_input_is_a_group_of_one_leg_named_by_its_route() -> None:
    raw = load_json(EVENTS / "weight-shift-apps.json")
    spec = parse_group(raw)
    assert [(g.name, g.kind, g.field) for g in spec.legs] == [("apps/serviceB/serviceB", "weightShift", "")]
    assert spec.steps == (50, 100) and spec.bakeSeconds == 300 and spec.approval == WeightShiftSpec(**raw).approval
    # and its problems are named as today, not as a leg's
    assert fields({**raw, "canary": "serviceB"}) == ["canary"]


def test_twenty_legs_on_five_steps_pass() -> None:
    names = [f"svc{i}" for i in range(20)]
    raw = group(*(leg(n, names[:i][-2:]) for i, n in enumerate(names)), steps=[5, 10, 25, 50, 100])
    assert len(parse_group(raw).legs) == 20


@pytest.mark.parametrize("name", SCHEDULE)
def test_a_weight_shift_leg_giving_a_group_field_is_refused_naming_it(name: str) -> None:
    value = {"approval": {"beforeSteps": [100]}, "mode": "plan", "whenLocked": "fail", "dryRun": False}.get(name, 50)
    if name == "steps":
        value = [50, 100]
    own = {**lattice("payments"), name: value}
    found = problems(group(leg("payments", weightShift=own)))
    assert [field for field, _ in found] == [f"legs[0].weightShift.{name}"]
    assert "group's" in found[0][1]


def test_an_ecs_leg_giving_its_own_approval_is_refused() -> None:
    own = {**ecs("checkout"), "approval": {"beforeSteps": [100]}}
    assert fields(group(leg("checkout", ecsDeployment=own))) == ["legs[0].ecsDeployment.approval"]


def test_every_problem_is_reported_at_once_each_at_its_field() -> None:
    bad_route = {**lattice("payments"), "canary": "payments"}  # the leg's own rule
    bad_ecs = {k: v for k, v in ecs("checkout").items() if k != "taskDefinition"}
    raw = group(
        leg("payments", weightShift=bad_route),
        leg("checkout", ["payment"], ecsDeployment=bad_ecs),
        {"name": "orders", "weightShift": lattice("orders"), "ecsDeployment": ecs("orders")},
        leg("payments", weightShift=lattice("invoices")),
        {"name": "x"},
        steps=[50, 10],
        bakeSecs=3,
    )
    found = dict(problems(raw))
    assert set(found) == {
        "bakeSecs",
        "legs[0].weightShift.canary",
        "legs[1].ecsDeployment.taskDefinition",
        "legs[2].ecsDeployment",
        "legs[4].weightShift",
        "steps[1]",
        "legs[1].after[0]",
        "legs[3].name",
    }
    assert found["legs[1].after[0]"] == "'payment' is not a leg of the group; did you mean payments?"
    assert found["legs[3].name"] == "'payments' is the name of legs[0] too: each leg has its own"


def test_a_leg_waiting_for_a_leg_with_problems_is_not_told_it_is_unknown() -> None:
    raw = group(leg("payments", weightShift={**lattice("payments"), "canary": "payments"}), leg("checkout", ["payments"]))
    assert fields(raw) == ["legs[0].weightShift.canary"]


def test_a_cycle_is_named_leg_by_leg() -> None:
    raw = group(leg("a", ["c"]), leg("b", ["a"]), leg("c", ["b"]), leg("d"))
    assert problems(raw) == [("legs[0].after", "a -> c -> b -> a is a cycle: no leg of it can move first")]
    assert problems(group(leg("a", ["a"]))) == [("legs[0].after", "a leg cannot wait for itself")]


def test_two_legs_on_one_route_or_one_service_are_refused() -> None:
    same_route = {**lattice("payments"), "stable": "other", "canary": "otherv2"}
    assert fields(group(leg("payments"), leg("again", weightShift=same_route))) == ["legs[1].weightShift.ruleIdentifier"]
    arn = "arn:aws:ecs:us-west-2:123456789012:service/apps/checkout"
    found = problems(group(leg("one", ecsDeployment=ecs("checkout")), leg("two", ecsDeployment={**ecs("x"), "service": arn})))
    assert found == [
        ("legs[1].ecsDeployment.service", "ECS service apps/" + arn + " is also moved by leg 'one': two legs cannot move it")
    ]


def test_a_route_named_two_ways_is_refused_once_its_lock_ids_are_known() -> None:
    a, b, c = parse_group(group(leg("a"), leg("b"), leg("c"))).legs
    with pytest.raises(InvalidRolloutInput) as caught:
        check_distinct_locks([(a, "lattice:svc-1/l/r"), (b, "alb:x"), (c, "lattice:svc-1/l/r")])
    assert caught.value.problems == [("legs[2]", "moves lattice:svc-1/l/r, as leg 'a' does")]
    # each problem is at the leg's own place in the input, whatever the order (or the subset) of the locks given
    with pytest.raises(InvalidRolloutInput) as caught:
        check_distinct_locks([(c, "lattice:svc-1/l/r"), (a, "lattice:svc-1/l/r")])
    assert caught.value.problems == [("legs[0]", "moves lattice:svc-1/l/r, as leg 'c' does")]


def test_the_groups_schedule_is_checked_as_a_routes_is() -> None:
    raw = group(leg("a"), steps=[10, 50], stepPercent=10, approval={"beforeSteps": [100]})
    assert fields(raw) == ["stepPercent", "approval.beforeSteps[0]"]


def test_a_group_field_a_legs_rules_read_is_named_at_the_group() -> None:
    # alternate needs mode plan; an ECS pause must outlast the group's approval
    alternate = {**lattice("a"), "alternate": True, "finalize": {"removeStableTarget": False}}
    assert problems(group(leg("a", weightShift=alternate), mode="increment")) == [
        ("mode", "alternate decides the roles from a route at rest; give mode plan (for leg 'a')"),
        ("mode", "a group moves in plan mode (every step in one execution)"),
    ]
    short = {**ecs("checkout"), "hookTimeoutMinutes": 5}
    assert fields(group(leg("checkout", ecsDeployment=short), approval={"timeoutSeconds": 3600})) == [
        "legs[0].ecsDeployment.hookTimeoutMinutes"
    ]
    assert fields(group(leg("checkout", ecsDeployment=ecs("checkout")), mode="increment")) == ["mode"]


def test_no_legs_and_too_many_legs_are_refused() -> None:
    assert fields({"legs": []}) == ["legs"]
    assert fields({"legs": "payments"}) == ["legs"]
    many = group(*(leg(f"s{i}") for i in range(MAX_LEGS + 1)), steps=[100])
    assert fields(many) == ["legs"]


def test_a_history_past_the_budget_is_refused_naming_steps() -> None:
    # a step costs the same events whatever the number of legs: 20 legs x 10 steps with the default gate fit
    assert len(parse_group(group(*(leg(f"s{i}") for i in range(20)), steps=list(range(10, 101, 10)))).legs) == 20
    # 100 steps, each re-checked up to 30 times while a leg is PENDING, do not
    raw = group(leg("s0"), leg("s1"), steps=list(range(1, 101)))
    raw["legs"][1]["weightShift"]["healthGate"]["maxPendingChecks"] = 30
    ((field, problem),) = problems(raw)
    assert field == "steps" and problem.startswith("100 steps may take 29059 events of the execution's history")
    quick = copy.deepcopy(raw)
    quick["legs"][1]["weightShift"]["healthGate"]["maxPendingChecks"] = 10
    assert len(parse_group(quick).legs) == 2
