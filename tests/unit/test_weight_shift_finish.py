"""weight_shift.finish_record: FinishRollout's `locked` and `outcome`, worked out from the execution's state on each way
out of WeightShiftStateMachine, as the Pass states that built them (`$.finish`) did before."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.shifting.weight_shift import finish_record

PLAN = {"route": {"label": "apps/serviceB/serviceB"}, "lockId": "appmesh:apps/serviceB/serviceB", "mode": "plan"}
LOCK = {"lockId": PLAN["lockId"], "owner": "exec-1"}
FAILURE = {"Error": "CanaryUnhealthy", "Cause": "at 25%: 5xx 12% > 1%"}
ROLLBACK = {"weights": {"serviceB": 100, "serviceBv2": 0}}
RELEASE_ROLLBACK = {"cause": "serviceB back on serviceB:7"}
ROLLBACK_FAILURE = {"Error": "RouteDrifted", "Cause": "the route is at serviceB 50 / serviceBv2 50"}

# (the state FinishRollout is entered with, the record the removed Pass state built for it)
WAYS_OUT: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "NotLocked": ({**PLAN, "failure": FAILURE}, {"locked": False, "outcome": {"failure": FAILURE}}),
    "SnapshotFailed": ({**PLAN, "lock": LOCK, "failure": FAILURE}, {"locked": True, "outcome": {"failure": FAILURE}}),
    "LeaveDriftedRoute": (
        {**PLAN, "lock": LOCK, "snapshot": {}, "failure": {"Error": "RouteDrifted", "Cause": "x"}},
        {"locked": True, "outcome": {"failure": {"Error": "RouteDrifted", "Cause": "x"}}},
    ),
    "RolledBack": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rollback": ROLLBACK},
        {"locked": True, "outcome": {"failure": FAILURE, "rollback": ROLLBACK}},
    ),
    "RolledBackWithRelease": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rollback": ROLLBACK, "releaseRollback": RELEASE_ROLLBACK},
        {"locked": True, "outcome": {"failure": FAILURE, "rollback": ROLLBACK, "releaseRollback": RELEASE_ROLLBACK}},
    ),
    "RollbackDidNotComplete (RestoreRoute)": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rollbackFailure": ROLLBACK_FAILURE},
        {"locked": True, "outcome": {"failure": FAILURE, "rollbackFailure": ROLLBACK_FAILURE}},
    ),
    "RollbackDidNotComplete (RollbackRelease)": (
        {**PLAN, "lock": LOCK, "failure": FAILURE, "rollback": ROLLBACK, "rollbackFailure": ROLLBACK_FAILURE},
        {"locked": True, "outcome": {"failure": FAILURE, "rollbackFailure": ROLLBACK_FAILURE}},
    ),
    "FinalizeDidNotComplete": (
        {**PLAN, "lock": LOCK, "applied": [], "finalizeFailure": {"Error": "States.TaskFailed", "Cause": "boom"}},
        {"locked": True, "outcome": {"failure": {"Error": "FinalizeFailed", "Cause": "boom"}}},
    ),
    "Succeeded": ({**PLAN, "lock": LOCK, "applied": [], "finalized": {}}, {"locked": True, "outcome": {}}),
}


@pytest.mark.parametrize("way_out", WAYS_OUT)
def test_the_finish_record_is_the_one_the_pass_states_built(way_out: str) -> None:
    state, record = WAYS_OUT[way_out]
    assert finish_record(state) == record
