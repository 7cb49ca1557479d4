"""Weight arithmetic, plans and the App Mesh route spec editing behind the traffic interface (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput, RouteDrifted, UnknownReference
from mesh_rollout.shifting.inputs import WeightShiftSpec, step_list
from mesh_rollout.shifting.plan import lock_seconds
from mesh_rollout.shifting.weights import (
    canary_percent,
    check_route_weights,
    exact_factor,
    expect_weights,
    plan_steps,
    weights_at,
)
from mesh_rollout.traffic import WeightScale
from mesh_rollout.traffic.appmesh import AppMeshRoute, spec_with_weights, weights_of_spec
from mesh_rollout.traffic.lattice import SCALE as LATTICE

APPMESH = AppMeshRoute.scale

NAMES = {
    "meshName": "apps",
    "virtualRouterName": "serviceB",
    "routeName": "serviceB",
    "stable": "serviceB",
    "canary": "serviceBv2",
}


def spec(**extra: Any) -> WeightShiftSpec:
    return WeightShiftSpec(**NAMES, **extra)


def pending_steps(plan: WeightShiftSpec, current: dict[str, int], scale: WeightScale = APPMESH) -> list[dict[str, Any]]:
    """The plan's steps in short: percent, percent before and approval (the weights are checked separately)."""
    approvals = set(plan.approval.beforeSteps) if plan.approval else set()
    steps = plan_steps(current, "serviceB", "serviceBv2", step_list(plan), approvals, scale, plan.mode == "increment")
    return [
        {k: step[k] for k in ("percent", "previousPercent", "approval")} | {"gateAfter": plan.mode == "plan"} for step in steps
    ]


@pytest.mark.parametrize(
    ("base", "percent", "expected"),
    [
        ({"serviceB": 75, "serviceBv2": 25}, 50, {"serviceB": 50, "serviceBv2": 50}),
        ({"serviceB": 75, "serviceBv2": 25}, 100, {"serviceB": 0, "serviceBv2": 100}),
        ({"serviceB": 100}, 10, {"serviceB": 90, "serviceBv2": 10}),
        # other targets keep their weight; only the pool stable + canary (60) is split
        ({"legacy": 40, "serviceB": 60}, 50, {"legacy": 40, "serviceB": 30, "serviceBv2": 30}),
        ({"serviceB": 3, "serviceBv2": 0}, 50, {"serviceB": 1, "serviceBv2": 2}),  # half up
    ],
)
def test_weights_at_splits_the_pool_and_keeps_other_targets(base: dict[str, int], percent: int, expected: dict[str, int]) -> None:
    assert weights_at(base, "serviceB", "serviceBv2", percent) == expected
    assert sum(expected.values()) == sum(base.values())


def test_canary_percent() -> None:
    assert canary_percent({"serviceB": 75, "serviceBv2": 25}, "serviceB", "serviceBv2") == 25
    assert canary_percent({"serviceB": 2, "serviceBv2": 1}, "serviceB", "serviceBv2") == 33
    assert canary_percent({"serviceB": 100}, "serviceB", "serviceBv2") == 0


def test_step_list_defaults_and_step_percent() -> None:
    assert step_list(spec()) == [25, 50, 75, 100]
    assert step_list(spec(stepPercent=30)) == [30, 60, 90, 100]
    assert step_list(spec(steps=[10, 20])) == [10, 20]


def test_plan_mode_skips_steps_already_reached_and_marks_approvals() -> None:
    steps = pending_steps(spec(steps=[10, 50, 100], approval={"beforeSteps": [100]}), {"serviceB": 75, "serviceBv2": 25})
    assert steps == [
        {"percent": 50, "previousPercent": 25, "approval": False, "gateAfter": True},
        {"percent": 100, "previousPercent": 50, "approval": True, "gateAfter": True},
    ]


def test_increment_mode_makes_one_step_and_gates_before_it() -> None:
    assert pending_steps(spec(mode="increment", stepPercent=25), {"serviceB": 75, "serviceBv2": 25}) == [
        {"percent": 50, "previousPercent": 25, "approval": False, "gateAfter": False}
    ]
    assert pending_steps(spec(mode="increment"), {"serviceB": 0, "serviceBv2": 100}) == []
    assert pending_steps(spec(mode="increment"), {"serviceBv2": 100}) == []


@pytest.mark.parametrize(("pool_size", "step_percent"), [(77, 10), (21, 10), (49, 25), (3, 25), (100, 30)])
def test_step_mode_ticks_always_move_the_canary_until_it_has_the_whole_pool(pool_size: int, step_percent: int) -> None:
    """Each tick must raise the canary's weight: a percentage that rounds back to the current weights would
    make every later tick a silent no-op (the stable and canary share a pool smaller than 100 here)."""
    plan = spec(mode="increment", stepPercent=step_percent)
    weights = {"serviceB": pool_size, "other": 100 - pool_size}
    for _tick in range(100):
        steps = pending_steps(plan, weights)
        if not steps:
            break
        moved = weights_at(weights, "serviceB", "serviceBv2", steps[0]["percent"])  # App Mesh: factor 1, rounded
        assert moved["serviceBv2"] > weights.get("serviceBv2", 0), (weights, steps)
        weights = moved
    assert weights == {"serviceB": 0, "serviceBv2": pool_size, "other": 100 - pool_size}


def test_a_step_that_rounds_to_the_weights_before_it_is_folded_into_the_next_with_its_approval() -> None:
    # a pool of 4: 10% and 20% both give the canary 0 or 1 of it
    plan = spec(steps=[10, 20, 30, 100], approval={"beforeSteps": [20]})
    assert pending_steps(plan, {"serviceB": 4, "other": 96}) == [
        {"percent": 20, "previousPercent": 0, "approval": True, "gateAfter": True},
        {"percent": 100, "previousPercent": 20, "approval": False, "gateAfter": True},
    ]
    # a step the route is already past hands its approval on too: nobody is asked less than the input says
    assert (
        pending_steps(spec(steps=[10, 50, 100], approval={"beforeSteps": [10]}), {"serviceB": 75, "serviceBv2": 25})[0][
            "approval"
        ]
        is True
    )


def test_each_step_carries_its_weights_and_the_weights_before_it() -> None:
    steps = plan_steps({"serviceB": 75, "serviceBv2": 25}, "serviceB", "serviceBv2", [50, 100], set(), APPMESH)
    assert [(s["previous"], s["weights"]) for s in steps] == [
        ({"serviceB": 75, "serviceBv2": 25}, {"serviceB": 50, "serviceBv2": 50}),
        ({"serviceB": 50, "serviceBv2": 50}, {"serviceB": 0, "serviceBv2": 100}),
    ]


@pytest.mark.parametrize(
    ("current", "percents", "factor", "first"),
    [
        ({"b": 75, "b2": 25}, [50, 100], 1, {"b": 50, "b2": 50}),  # the guide's weights divide already
        ({"b": 1, "b2": 0}, [25, 50, 100], 4, {"b": 3, "b2": 1}),  # a target group's default weight of 1
        ({"legacy": 2, "b": 1, "b2": 0}, [50, 100], 2, {"legacy": 4, "b": 1, "b2": 1}),  # others keep their share
        ({"b": 3, "b2": 0}, [10, 100], 10, {"b": 27, "b2": 3}),  # 10% of 3 needs a pool of 30
    ],
)
def test_a_relative_scale_writes_every_step_exactly(
    current: dict[str, int], percents: list[int], factor: int, first: dict[str, int]
) -> None:
    found = exact_factor(current, "b", "b2", percents, LATTICE)
    total = (current["b"] + current["b2"]) * found
    assert all(total * p % 100 == 0 for p in percents)
    steps = plan_steps(current, "b", "b2", percents, set(), LATTICE)
    for step, percent in zip(steps, percents, strict=True):
        assert step["weights"]["b2"] * 100 == total * percent  # exactly the percentage of the pool
        assert {k: v for k, v in step["weights"].items() if k not in ("b", "b2")} == {
            k: v * found for k, v in current.items() if k not in ("b", "b2")
        }
    assert (found, steps[0]["weights"]) == (factor, first)


def test_a_step_the_scale_cannot_express_is_refused_before_any_change() -> None:
    # the other target group weighs 999 already: nothing can be multiplied, and 50% of 3 is 1.5
    with pytest.raises(InvalidRolloutInput, match=r"^steps: 50% of the 3 that 'b' and 'b2' weigh together cannot be written"):
        exact_factor({"other": 999, "b": 3, "b2": 0}, "b", "b2", [50, 100], LATTICE)
    assert exact_factor({"b": 75, "b2": 25}, "b", "b2", [33], APPMESH) == 1  # App Mesh rounds, as it always did


def test_lock_lives_longer_than_the_longest_run() -> None:
    plan = spec(steps=[50, 100], bakeSeconds=300, approval={"beforeSteps": [100], "timeoutSeconds": 600})
    steps = pending_steps(plan, {"serviceB": 100})
    # by hand: 50% (bake 5 min, then up to 10 gate re-checks a minute apart), a 10 min approval, 100% (the same),
    # and an hour's margin
    assert lock_seconds(plan, steps) == (5 + 10) * 60 + 10 * 60 + (5 + 10) * 60 + 3600 == 6000


def test_expect_weights_names_what_was_found_and_expected() -> None:
    expect_weights({"a": 1}, [{"a": 1}], "r")
    with pytest.raises(RouteDrifted, match="route r has a 2, which this rollout did not write \\(expected a 1\\)"):
        expect_weights({"a": 2}, [{"a": 1}], "r")


ROUTE_SPEC = {
    "priority": 5,
    "http2Route": {
        "match": {"prefix": "/", "headers": [{"name": "x-canary", "match": {"exact": "1"}}]},
        "action": {
            "weightedTargets": [
                {"virtualNode": "serviceB", "weight": 75, "port": 80},
                {"virtualNode": "serviceBv2", "weight": 25},
            ]
        },
        "retryPolicy": {"maxRetries": 2, "perRetryTimeout": {"unit": "s", "value": 1}, "httpRetryEvents": ["server-error"]},
    },
}


def test_spec_with_weights_changes_only_the_weights() -> None:
    new = spec_with_weights(ROUTE_SPEC, {"serviceB": 50, "serviceBv2": 50}, "r")
    assert new["http2Route"]["action"]["weightedTargets"] == [
        {"virtualNode": "serviceB", "weight": 50, "port": 80},
        {"virtualNode": "serviceBv2", "weight": 50},
    ]
    assert {k: v for k, v in new["http2Route"].items() if k != "action"} == {
        k: v for k, v in ROUTE_SPEC["http2Route"].items() if k != "action"
    }
    assert new["priority"] == 5 and ROUTE_SPEC["http2Route"]["action"]["weightedTargets"][0]["weight"] == 75  # not mutated


def test_spec_with_weights_adds_and_removes_targets() -> None:
    added = spec_with_weights(
        {"tcpRoute": {"action": {"weightedTargets": [{"virtualNode": "a", "weight": 100}]}}}, {"a": 90, "b": 10}, "r"
    )
    assert added["tcpRoute"]["action"]["weightedTargets"] == [
        {"virtualNode": "a", "weight": 90},
        {"virtualNode": "b", "weight": 10},
    ]
    on_port = {"httpRoute": {"action": {"weightedTargets": [{"virtualNode": "a", "weight": 100, "port": 8080}]}}}
    assert spec_with_weights(on_port, {"a": 90, "b": 10}, "r")["httpRoute"]["action"]["weightedTargets"] == [
        {"virtualNode": "a", "weight": 90, "port": 8080},
        {"virtualNode": "b", "weight": 10, "port": 8080},  # the port the route's targets use
    ]
    mixed = spec_with_weights(ROUTE_SPEC, {"serviceB": 75, "serviceBv2": 20, "c": 5}, "r")  # no port agreed: none given
    assert mixed["http2Route"]["action"]["weightedTargets"][2] == {"virtualNode": "c", "weight": 5}
    removed = spec_with_weights(ROUTE_SPEC, {"serviceBv2": 100}, "r")
    assert removed["http2Route"]["action"]["weightedTargets"] == [{"virtualNode": "serviceBv2", "weight": 100}]


def test_weights_of_spec_rejects_routes_it_cannot_shift() -> None:
    assert weights_of_spec(ROUTE_SPEC, "r") == {"serviceB": 75, "serviceBv2": 25}
    with pytest.raises(UnknownReference, match="routeName: route r has no weighted targets"):
        weights_of_spec({"httpRoute": {"match": {"prefix": "/"}}}, "r")
    twice = {"grpcRoute": {"action": {"weightedTargets": [{"virtualNode": "a", "weight": 1}, {"virtualNode": "a", "weight": 2}]}}}
    with pytest.raises(UnknownReference, match="lists virtual node a twice"):
        weights_of_spec(twice, "r")


def test_approval_wait_seconds() -> None:
    from mesh_rollout.shifting.weight_shift import approval_wait_seconds

    asked = {"at": "2026-11-25T10:00:00.000Z"}
    assert approval_wait_seconds(asked, {"answeredAt": "2026-11-25T10:05:30+00:00"}) == 330.0
    assert approval_wait_seconds(None, None) is None
    assert approval_wait_seconds(asked, {"approved": True}) is None  # answered from the console without a time


def test_a_step_mode_tick_gates_a_canary_without_traffic_on_alarms_and_ecs_only() -> None:
    from mesh_rollout.shifting.plan import gates

    metric = {"id": "errors", "metricStat": {"Metric": {"MetricName": "5xx"}, "Period": 60, "Stat": "Sum"}, "threshold": 1}
    plan = spec(mode="increment", healthGate={"alarmNames": ["serviceBv2-5xx"], "metrics": [metric]})
    resolved = {"stable": "serviceB", "canary": "serviceBv2", "arns": {}}
    _, before_first_tick = gates(plan, resolved, {"serviceB": 100}, None)
    assert (before_first_tick["metrics"], before_first_tick["alarmNames"]) == ([], ["serviceBv2-5xx"])
    assert [m["id"] for m in gates(plan, resolved, {"serviceB": 75, "serviceBv2": 25}, None)[1]["metrics"]] == ["errors"]


@pytest.mark.parametrize(
    ("current", "total"),
    [({"serviceB": 100, "serviceBv2": 50}, 150), ({"legacy": 40, "serviceB": 50, "serviceBv2": 20}, 110)],
)
def test_a_route_above_a_total_weight_of_100_is_refused(current: dict[str, int], total: int) -> None:
    with pytest.raises(InvalidRolloutInput, match=rf"^routeName: route 'serviceB' has .*: its weights sum to {total}, above"):
        check_route_weights(current, "serviceB", "serviceBv2", "serviceB", APPMESH)


def test_a_pool_the_0_999_scale_cannot_hold_at_100_percent_is_an_input_error() -> None:
    from mesh_rollout.errors import InvalidRolloutInput
    from mesh_rollout.shifting.weights import plan_steps
    from mesh_rollout.traffic.lattice import SCALE

    with pytest.raises(InvalidRolloutInput, match=r"^steps: 'a' and 'b' weigh 1200 together: at 100% the canary would need 1200"):
        plan_steps({"a": 600, "b": 600}, "a", "b", [50, 100], set(), SCALE)
