"""A route alone's end (grouping.finish.route_outcome): the outcome shifting.weight_shift.outcome_text words, worked
out from the group's state as WeightShiftStateMachine hands it to FinishGroup on each way out, for the one leg a
route alone is (grouping.plan.route_alone)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.grouping.finish import route_outcome, route_steps
from mesh_rollout.shifting.weight_shift import finish_record, outcome_text

LABEL = "apps/serviceB/serviceB"
PLAN = {"single": True, "route": {"label": LABEL}, "lockId": f"appmesh:{LABEL}", "mode": "plan", "canary": "serviceBv2"}
LOCK = {"lockIds": [PLAN["lockId"]], "owner": "exec-1"}
FAILURE = {"Error": "CanaryUnhealthy", "Cause": "at 25%: 5xx 12% > 1%"}
BACK = {"serviceB": 100, "serviceBv2": 0}
RESTORED = {"restored": True, "legs": [{"name": LABEL, "restored": True, "weights": BACK, "single": True}]}
DRIFT = "RouteDrifted: route apps/serviceB/serviceB has serviceB 95 / serviceBv2 5; the hand-set weights are left alone"
LEFT = {"restored": False, "legs": [{"name": LABEL, "restored": False, "weights": None, "problem": DRIFT, "single": True}]}
THROTTLED = {"Error": "TransientAwsError", "Cause": "UpdateRoute: ThrottlingException"}
REJECTED = '{"errorType": "RollbackFailed", "errorMessage": "route not restored: AwsRequestRejected: UpdateRule: AccessDenied"}'


def wave(restored: Any = None, failure: Any = None) -> dict[str, Any]:
    """RollBackWaves' record of the one wave (WaveRolledBack)."""
    return {"restored": restored, "restoreFailure": failure, "ecs": {"polls": 0, "waitSeconds": 0}, "ecsFailure": None}


# (the state FinishGroup is entered with, the outcome a route alone ends with)
WAYS_OUT: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "NotLocked": ({**PLAN, "failure": FAILURE}, {"failure": FAILURE}),
    "SnapshotFailed": ({**PLAN, "lock": LOCK, "failure": FAILURE}, {"failure": FAILURE}),
    "RolledBack": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rolledBack": [wave(RESTORED)]},
        {"failure": FAILURE, "rollback": {"restored": True, "weights": BACK, "route": LABEL}},
    ),
    "RolledBackWithRelease": (
        {
            **PLAN,
            "lock": LOCK,
            "failure": FAILURE,
            "rolledBack": [wave(RESTORED)],
            "releaseRollback": {"done": ["ECS service apps/serviceBv2 put back on taskBv2:2"], "kept": []},
        },
        {
            "failure": FAILURE,
            "rollback": {"restored": True, "weights": BACK, "route": LABEL},
            "releaseRollback": {"cause": "ECS service apps/serviceBv2 put back on taskBv2:2"},
        },
    ),
    "LeftDriftedRoute": (  # the failure is the drift itself: the hand-set weights stay, which is no failed rollback
        {**PLAN, "lock": LOCK, "failure": {"Error": "RouteDrifted", "Cause": "x"}, "rolledBack": [wave(LEFT)]},
        {"failure": {"Error": "RouteDrifted", "Cause": "x"}},
    ),
    "RollbackFoundDrift": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rolledBack": [wave(LEFT)]},
        {"failure": FAILURE, "rollbackFailure": {"Error": "RouteDrifted", "Cause": DRIFT.removeprefix("RouteDrifted: ")}},
    ),
    "RestoreFailed": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rolledBack": [wave(None, THROTTLED)]},
        {"failure": FAILURE, "rollbackFailure": THROTTLED},
    ),
    "RestoreRejected": (  # restore_legs' RollbackFailed for the one leg: the leg's own error, as the route's states said
        {
            **PLAN,
            "lock": LOCK,
            "failure": FAILURE,
            "rolledBack": [wave(None, {"Error": "RollbackFailed", "Cause": REJECTED})],
        },
        {"failure": FAILURE, "rollbackFailure": {"Error": "AwsRequestRejected", "Cause": "UpdateRule: AccessDenied"}},
    ),
    "RollBackWavesFailed": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rolledBack": THROTTLED},
        {"failure": FAILURE, "rollbackFailure": THROTTLED},
    ),
    "ReleaseRollbackFailed": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rolledBack": [wave(RESTORED)], "releaseRollbackFailure": THROTTLED},
        {"failure": FAILURE, "rollbackFailure": THROTTLED},
    ),
    "FinalizeDidNotComplete": (
        {**PLAN, "lock": LOCK, "applied": [], "finalizeFailure": {"Error": "States.TaskFailed", "Cause": "boom"}},
        {"failure": {"Error": "FinalizeFailed", "Cause": "boom"}},
    ),
    "Succeeded": ({**PLAN, "lock": LOCK, "applied": [], "finalized": {"done": []}}, {}),
}


@pytest.mark.parametrize("way_out", WAYS_OUT)
def test_each_way_out_ends_with_the_routes_own_outcome(way_out: str) -> None:
    state, outcome = WAYS_OUT[way_out]
    assert route_outcome(state) == outcome
    assert finish_record(state)["locked"] is ("lock" in state)


def test_the_outcomes_words_are_a_routes() -> None:
    rolled = route_outcome(WAYS_OUT["RolledBack"][0])
    assert outcome_text(rolled, LABEL, BACK) == (
        "FAILED",
        "CanaryUnhealthy",
        f"at 25%: 5xx 12% > 1%. Rolled back: route {LABEL} is at serviceB 100 / serviceBv2 0",
    )
    drifted = route_outcome(WAYS_OUT["RollbackFoundDrift"][0])
    status, error, cause = outcome_text(drifted, LABEL, {"serviceB": 95, "serviceBv2": 5})
    assert (status, error) == ("FAILED", "RouteDrifted")
    assert cause.startswith("CanaryUnhealthy: at 25%: 5xx 12% > 1%. Not rolled back: route apps/serviceB/serviceB has")


def test_a_routes_steps_are_its_ones_weights_from_either_way_a_step_moves() -> None:
    at50, at100 = {"serviceB": 50, "serviceBv2": 50}, {"serviceBv2": 100}
    applied = [
        {"percent": 50, "moved": None, "routesMoved": {"percent": 50, "legs": [{"name": LABEL, "weights": at50}]}},
        {"percent": 100, "moved": [{"routes": [{"name": LABEL, "weights": at100}], "ecs": {}}], "routesMoved": None},
    ]
    assert route_steps(applied) == [
        {"percent": 50, "weights": at50, "decision": None, "health": None},
        {"percent": 100, "weights": at100, "decision": None, "health": None},
    ]
