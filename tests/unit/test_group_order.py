"""The order a group's legs move in (waves for a Map) and each leg's target at a step."""

from __future__ import annotations

import pytest

from mesh_rollout.grouping.ecs_legs import target_of
from mesh_rollout.grouping.order import find_cycle, leg_targets, waves
from mesh_rollout.shifting.weights import canary_percent
from mesh_rollout.traffic import alb, appmesh, lattice


def test_legs_without_after_move_together_in_the_inputs_order() -> None:
    assert waves({"b": [], "a": [], "c": []}) == [["b", "a", "c"]]


def test_a_leg_moves_in_the_wave_after_the_last_leg_it_waits_for() -> None:
    after = {"checkout": ["payments", "ledger"], "payments": [], "ledger": ["payments"], "web": []}
    assert waves(after) == [["payments", "web"], ["ledger"], ["checkout"]]


def test_a_cycle_is_named() -> None:
    after = {"a": [], "b": ["d"], "c": ["b"], "d": ["c"]}
    assert find_cycle(after) == ["b", "d", "c", "b"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"a": [], "b": ["a"]}) is None
    with pytest.raises(ValueError, match="cycle: b -> d -> c -> b"):
        waves(after)


def test_each_leg_reaches_the_groups_percent_on_its_own_scale() -> None:
    percents = [10, 50, 100]
    # App Mesh: percentages of at most 100, rounded
    mesh = leg_targets({"b": 100}, "b", "b2", percents, appmesh.AppMeshRoute.scale)
    assert mesh == {10: {"b": 90, "b2": 10}, 50: {"b": 50, "b2": 50}, 100: {"b": 0, "b2": 100}}
    # VPC Lattice / ALB: 0-999, every step exact (weights 1 and 0 are scaled to 10)
    assert leg_targets({"t": 1}, "t", "t2", percents, lattice.SCALE) == {
        10: {"t": 9, "t2": 1},
        50: {"t": 5, "t2": 5},
        100: {"t": 0, "t2": 10},
    }
    assert canary_percent({"t": 9, "t2": 1}, "t", "t2") == 10  # where the leg is, in the group's percent


def test_a_step_the_leg_has_reached_keeps_its_weights() -> None:
    assert leg_targets({"t": 50, "t2": 50}, "t", "t2", [10, 50, 100], alb.SCALE) == {
        10: {"t": 50, "t2": 50},
        50: {"t": 50, "t2": 50},
        100: {"t": 0, "t2": 100},
    }


def test_an_ecs_leg_is_held_at_ecs_last_step_at_or_below_the_groups_percent() -> None:
    linear = {"steps": [0, 20, 40, 60, 80, 100]}
    assert [target_of(linear, percent) for percent in (10, 20, 50, 100)] == [0, 20, 40, 100]
    canary = {"steps": [0, 10, 100]}  # never to 100 at a group step below it (an approval at 100 comes first)
    assert [target_of(canary, percent) for percent in (10, 50, 99, 100)] == [10, 10, 10, 100]
