"""A group's steps over every leg (grouping.legs): moves wave by wave, the worst leg's verdict, a rollback that tries
every leg in reverse order and says what became of each. The route functions a leg runs alone (apply_step,
restore_route) are replaced by small fakes: these tests are about the group's bookkeeping around them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from mesh_rollout.errors import (
    AwsRequestRejected,
    LockLost,
    MeshRolloutError,
    RollbackFailed,
    RouteDrifted,
    TransientAwsError,
    WeightsNotApplied,
)
from mesh_rollout.grouping import legs as group_legs
from mesh_rollout.grouping.legs import (
    apply_legs,
    legs_verdict,
    ordered,
    restore_legs,
    restored_text,
    with_snapshots,
)
from mesh_rollout.shifting.lock import LockFence

OWNER = "arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:group-1"


def leg(name: str, gate: dict[str, Any] | None = None, snapshot: bool = True) -> dict[str, Any]:
    """A leg as PlanWeightShift and SnapshotLegs leave it: at 0%, steps 10, 50, 100 on a 0-999 scale."""
    start = {name: 1, f"{name}v2": 0}
    at10, at50, at100 = {name: 9, f"{name}v2": 1}, {name: 5, f"{name}v2": 5}, {name: 0, f"{name}v2": 10}
    return {
        "name": name,
        "after": [],
        "route": {"backend": "lattice", "label": f"svc-{name}/listener-{name}/rule-{name}"},
        "stable": name,
        "canary": f"{name}v2",
        "lockId": f"lattice:rule-{name}",
        "plannedWeights": start,
        "fromPercent": 0,
        "steps": [
            {"percent": 10, "previous": start, "weights": at10},
            {"percent": 50, "previous": at10, "weights": at50},
            {"percent": 100, "previous": at50, "weights": at100},
        ],
        "healthGate": gate if gate is not None else {"alarmNames": [f"{name}v2-5xx"], "recheckSeconds": 30},
        "settleSeconds": 0,
        "finalize": {"pending": False},
        "snapshot": {"weights": start, "action": {"forward": {}}} if snapshot else None,
    }


def fence_of(leg: Mapping[str, Any]) -> LockFence:
    return LockFence(dynamodb=None, table="mesh-rollout-locks", lock_id=leg["lockId"], owner=OWNER)


# --- order ----------------------------------------------------------------------------------------


def test_the_legs_are_taken_in_the_order_of_the_waves() -> None:
    legs = [leg("a"), leg("b"), leg("c")]
    assert [x["name"] for x in ordered(legs, [[2], [0, 1]])] == ["c", "a", "b"]
    assert ordered(legs, []) == []


def test_each_leg_gets_its_snapshot_and_none_before_snapshot_legs_ran() -> None:
    legs = [leg("a", snapshot=False), leg("b", snapshot=False)]
    snaps = [{"weights": {"a": 1}}, {"weights": {"b": 1}}]
    assert [x["snapshot"] for x in with_snapshots(legs, snaps)] == snaps
    assert [x["snapshot"] for x in with_snapshots(legs, None)] == [None, None]
    assert [x["snapshot"] for x in with_snapshots(legs, snaps[:1])] == [snaps[0], None]
    assert "snapshot" in legs[0] and legs[0]["snapshot"] is None  # the legs given are not changed


# --- apply_legs -----------------------------------------------------------------------------------


def test_legs_are_written_wave_by_wave_each_fenced_by_its_own_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given three legs where c moves first, then a and b; b's route already holds the step's weights (a retry)
    legs = [leg("a"), leg("b"), leg("c")]
    writes: list[tuple[str, dict[str, Any], str]] = []

    def apply_step(route: dict[str, Any], snapshot: dict[str, Any], step: dict[str, Any], fence: LockFence) -> dict[str, Any]:
        name = route["label"].split("/")[0].removeprefix("svc-")
        writes.append((name, step["weights"], fence.lock_id))
        assert snapshot == {"weights": {name: 1, f"{name}v2": 0}, "action": {"forward": {}}}
        return {"percent": step["percent"], "weights": step["weights"], "changed": name != "b", "version": None}

    monkeypatch.setattr(group_legs, "apply_step", apply_step)
    # When the group's second step (50%) is applied
    applied = apply_legs(legs, [[2], [0, 1]], {"index": 1, "percent": 50}, fence_of)
    # Then each leg is written to its own 50% weights, in the waves' order, under its own lock
    assert writes == [
        ("c", {"c": 5, "cv2": 5}, "lattice:rule-c"),
        ("a", {"a": 5, "av2": 5}, "lattice:rule-a"),
        ("b", {"b": 5, "bv2": 5}, "lattice:rule-b"),
    ]
    assert applied == {
        "percent": 50,
        "legs": [
            {"name": "c", "weights": {"c": 5, "cv2": 5}, "changed": True},
            {"name": "a", "weights": {"a": 5, "av2": 5}, "changed": True},
            {"name": "b", "weights": {"b": 5, "bv2": 5}, "changed": False},
        ],
    }


def test_a_leg_that_cannot_be_moved_stops_the_step_before_the_legs_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a's write finds its route set by hand
    legs = [leg("a"), leg("b")]
    written: list[str] = []

    def apply_step(route: dict[str, Any], snapshot: dict[str, Any], step: dict[str, Any], fence: LockFence) -> dict[str, Any]:
        if fence.lock_id == "lattice:rule-a":
            raise RouteDrifted("svc-a: the route is at a 3 / av2 7")
        written.append(fence.lock_id)
        return {"percent": step["percent"], "weights": step["weights"], "changed": True, "version": None}

    monkeypatch.setattr(group_legs, "apply_step", apply_step)
    # When b waits for a: the error is raised as it is (the state machine rolls every leg back), b never written
    with pytest.raises(RouteDrifted, match="a 3 / av2 7"):
        apply_legs(legs, [[0], [1]], {"index": 0, "percent": 10}, fence_of)
    assert written == []


# --- legs_verdict ---------------------------------------------------------------------------------


def reader(states: dict[str, tuple[str, str]]) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    return lambda leg: {"state": states[leg["name"]][0], "summary": states[leg["name"]][1]}


def test_every_leg_healthy_is_a_healthy_group() -> None:
    legs = [leg("a"), leg("b")]
    verdict = legs_verdict(legs, reader({"a": ("HEALTHY", "ok a"), "b": ("HEALTHY", "ok b")}), 0)
    assert verdict == {
        "state": "HEALTHY",
        "summary": "every leg HEALTHY (2)",
        "checks": 1,
        "recheckSeconds": 0,
        "legs": [
            {"name": "a", "state": "HEALTHY", "summary": "ok a"},
            {"name": "b", "state": "HEALTHY", "summary": "ok b"},
        ],
    }


def test_one_unhealthy_leg_makes_the_group_unhealthy_and_only_it_is_named() -> None:
    # Given one leg of each state
    legs = [leg("a"), leg("b"), leg("c")]
    states = {"a": ("PENDING", "no data yet"), "b": ("UNHEALTHY", "5xx 12% > 1%"), "c": ("HEALTHY", "ok")}
    # When the group's verdict is read for the third time
    verdict = legs_verdict(legs, reader(states), 2)
    # Then the worst leg wins, the summary names only it, and the checks count up
    assert verdict["state"] == "UNHEALTHY"
    assert verdict["summary"] == "leg b: 5xx 12% > 1%"
    assert verdict["checks"] == 3
    assert [v["state"] for v in verdict["legs"]] == ["PENDING", "UNHEALTHY", "HEALTHY"]


def test_pending_beats_healthy_and_names_every_pending_leg_in_the_legs_order() -> None:
    legs = [leg("a"), leg("b"), leg("c")]
    states = {"a": ("PENDING", "no data yet"), "b": ("HEALTHY", "ok"), "c": ("PENDING", "alarm INSUFFICIENT_DATA")}
    verdict = legs_verdict(legs, reader(states), 0)
    assert verdict["state"] == "PENDING"
    assert verdict["summary"] == "leg a: no data yet; leg c: alarm INSUFFICIENT_DATA"


def test_a_recheck_waits_the_longest_of_the_pending_legs_gates() -> None:
    """Each gate counts its patience in re-checks (maxPendingChecks): waiting the longest pending leg's interval never
    spends a slower leg's re-checks faster than its own gate would."""
    # Given a's gate rechecks every 60 s, b's (healthy) every 5 s, c's every 20 s, d's gives none (60 s by default)
    legs = [
        leg("a", {"recheckSeconds": 60}),
        leg("b", {"recheckSeconds": 5}),
        leg("c", {"recheckSeconds": 20}),
        leg("d", {}),
    ]
    states = {"a": ("PENDING", "x"), "b": ("HEALTHY", "ok"), "c": ("PENDING", "y"), "d": ("PENDING", "z")}
    # Then a recheck waits a's 60 s: a healthy leg's gate does not count
    assert legs_verdict(legs, reader(states), 0)["recheckSeconds"] == 60
    # and with only c pending, c's 20 s; with only d, the input's default
    states = {"a": ("HEALTHY", "ok"), "b": ("HEALTHY", "ok"), "c": ("PENDING", "y"), "d": ("HEALTHY", "z")}
    assert legs_verdict(legs, reader(states), 0)["recheckSeconds"] == 20
    states = {"a": ("HEALTHY", "ok"), "b": ("HEALTHY", "ok"), "c": ("HEALTHY", "ok"), "d": ("PENDING", "z")}
    assert legs_verdict(legs, reader(states), 0)["recheckSeconds"] == 60


def test_an_unhealthy_group_still_says_how_long_its_pending_legs_would_wait() -> None:
    legs = [leg("a", {"recheckSeconds": 45}), leg("b")]
    verdict = legs_verdict(legs, reader({"a": ("PENDING", "x"), "b": ("UNHEALTHY", "y")}), 0)
    assert (verdict["state"], verdict["recheckSeconds"]) == ("UNHEALTHY", 45)


# --- restore_legs ---------------------------------------------------------------------------------


class FakeRestore:
    """restore_route as the legs see it: each leg's outcome by name (an exception to raise, or restored or not)."""

    def __init__(self, outcomes: dict[str, MeshRolloutError | bool]) -> None:
        self.outcomes = outcomes
        self.calls: list[tuple[str, str, str]] = []  # (leg, mode, lock)

    def __call__(
        self,
        route: dict[str, Any],
        snapshot: dict[str, Any],
        stable: str,
        canary: str,
        steps: list[dict[str, Any]],
        mode: str,
        fence: LockFence,
        finalize: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.calls.append((stable, mode, fence.lock_id))
        assert len(steps) == 3 and finalize == {"pending": False}
        outcome = self.outcomes.get(stable, True)
        if isinstance(outcome, Exception):
            raise outcome
        return {"restored": outcome, "weights": snapshot["weights"], "route": route["label"]}


@pytest.fixture
def restore(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, MeshRolloutError | bool]], FakeRestore]:
    def install(outcomes: dict[str, MeshRolloutError | bool]) -> FakeRestore:
        fake = FakeRestore(outcomes)
        monkeypatch.setattr(group_legs, "restore_route", fake)
        return fake

    return install


def test_every_leg_is_restored_in_the_rollback_waves_order_in_plan_mode(
    restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore],
) -> None:
    # Given three legs, b already at its snapshot (a retry)
    fake = restore({"b": False})
    # When they are rolled back c first, then a and b
    restored = restore_legs([leg("a"), leg("b"), leg("c")], [[2], [0, 1]], fence_of)
    # Then each went back to its snapshot under its own lock, in that order
    assert fake.calls == [("c", "plan", "lattice:rule-c"), ("a", "plan", "lattice:rule-a"), ("b", "plan", "lattice:rule-b")]
    assert restored == {
        "restored": True,
        "legs": [
            {"name": "c", "restored": True, "weights": {"c": 1, "cv2": 0}},
            {"name": "a", "restored": True, "weights": {"a": 1, "av2": 0}},
            {"name": "b", "restored": False, "weights": {"b": 1, "bv2": 0}},
        ],
    }
    assert restored_text(restored["legs"]) == (
        "leg c at its snapshot c 1 / cv2 0; leg a at its snapshot a 1 / av2 0; leg b at its snapshot b 1 / bv2 0"
    )


def test_a_leg_without_a_snapshot_is_skipped(restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore]) -> None:
    fake = restore({})
    restored = restore_legs([leg("a", snapshot=False), leg("b")], [[0, 1]], fence_of)
    assert [call[0] for call in fake.calls] == ["b"]
    assert [x["name"] for x in restored["legs"]] == ["b"]
    # and with no leg snapshotted, nothing is restored and nothing said
    assert restore_legs([leg("a", snapshot=False)], [[0]], fence_of) == {"restored": False, "legs": []}


def test_a_drifted_leg_and_a_lost_lock_are_said_and_the_others_restored(
    restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore],
) -> None:
    # Given a was set by hand and b's lock was taken over by a clean-up
    fake = restore({"a": RouteDrifted("svc-a: the route is at a 3 / av2 7"), "b": LockLost("lattice:rule-b is held by cleanup")})
    # When every leg is rolled back
    restored = restore_legs([leg("a"), leg("b"), leg("c")], [[2], [1], [0]], fence_of)
    # Then every leg was tried, a and b are left as they are with their problem, c is back: no RollbackFailed
    assert [call[0] for call in fake.calls] == ["c", "b", "a"]
    assert restored == {
        "restored": True,
        "legs": [
            {"name": "c", "restored": True, "weights": {"c": 1, "cv2": 0}},
            {"name": "b", "restored": False, "weights": None, "problem": "LockLost: lattice:rule-b is held by cleanup"},
            {"name": "a", "restored": False, "weights": None, "problem": "RouteDrifted: svc-a: the route is at a 3 / av2 7"},
        ],
    }
    assert restored_text(restored["legs"]) == (
        "leg c at its snapshot c 1 / cv2 0; leg b not restored: LockLost: lattice:rule-b is held by cleanup;"
        " leg a not restored: RouteDrifted: svc-a: the route is at a 3 / av2 7"
    )


def test_every_leg_drifted_is_not_a_rollback_failure_but_nothing_was_restored(
    restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore],
) -> None:
    restore({"a": RouteDrifted("a by hand"), "b": RouteDrifted("b by hand")})
    restored = restore_legs([leg("a"), leg("b")], [[0, 1]], fence_of)
    assert restored["restored"] is False
    assert [x["problem"] for x in restored["legs"]] == ["RouteDrifted: a by hand", "RouteDrifted: b by hand"]


def test_a_transient_error_is_raised_only_once_every_leg_was_tried(
    restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore],
) -> None:
    # Given the first leg's write is throttled, and a later one fails for good
    fake = restore({"a": TransientAwsError("UpdateRule svc-a: Throttling"), "c": WeightsNotApplied("svc-c")})
    # When they are rolled back: the throttle is raised (the state machine retries RestoreLegs), after every leg
    with pytest.raises(TransientAwsError, match="Throttling"):
        restore_legs([leg("a"), leg("b"), leg("c")], [[0], [1], [2]], fence_of)
    assert [call[0] for call in fake.calls] == ["a", "b", "c"]


def test_the_first_transient_error_is_the_one_raised(
    restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore],
) -> None:
    restore({"a": TransientAwsError("first"), "b": TransientAwsError("second")})
    with pytest.raises(TransientAwsError, match=r"^first$"):
        restore_legs([leg("a"), leg("b")], [[0], [1]], fence_of)


def test_any_other_failure_is_a_rollback_failed_naming_each_leg(
    restore: Callable[[dict[str, MeshRolloutError | bool]], FakeRestore],
) -> None:
    # Given b's write is refused for good and c drifted, a restores
    fake = restore({"b": AwsRequestRejected("UpdateRule svc-b: AccessDenied"), "c": RouteDrifted("c by hand")})
    # When they are rolled back
    with pytest.raises(RollbackFailed) as caught:
        restore_legs([leg("a"), leg("b"), leg("c")], [[1, 2], [0]], fence_of)
    # Then every leg was still tried, and the error says what became of each, in the order they were tried
    assert [call[0] for call in fake.calls] == ["b", "c", "a"]
    assert str(caught.value) == (
        "leg b not restored: AwsRequestRejected: UpdateRule svc-b: AccessDenied;"
        " leg c not restored: RouteDrifted: c by hand;"
        " leg a at its snapshot a 1 / av2 0"
    )
