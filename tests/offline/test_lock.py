"""The per-route lock: conditional writes with an expiry (against the emulated DynamoDB)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import RolloutInProgress
from mesh_rollout.shifting import lock
from mesh_rollout_local.faults import FaultPlan
from tests.offline.conftest import LOCK_TABLE

TABLE = LOCK_TABLE


def test_second_owner_is_refused_while_the_lock_lives(dynamodb: Any) -> None:
    assert lock.acquire(dynamodb, TABLE, "r", "exec-1", 600, now=1000)["expiresAt"] == 1600
    with pytest.raises(RolloutInProgress, match="r is locked by exec-1 until 1600"):
        lock.acquire(dynamodb, TABLE, "r", "exec-2", 600, now=1500)
    assert lock.holder(dynamodb, TABLE, "r") == {"lockId": "r", "owner": "exec-1", "expiresAt": 1600}


def test_the_same_owner_may_take_it_again_a_retried_call(dynamodb: Any) -> None:
    lock.acquire(dynamodb, TABLE, "r", "exec-1", 600, now=1000)
    assert lock.acquire(dynamodb, TABLE, "r", "exec-1", 600, now=1001)["owner"] == "exec-1"


def test_an_expired_lock_can_be_taken_over(dynamodb: Any) -> None:
    lock.acquire(dynamodb, TABLE, "r", "dead-exec", 600, now=1000)
    assert lock.acquire(dynamodb, TABLE, "r", "exec-2", 600, now=1601)["owner"] == "exec-2"
    assert lock.release(dynamodb, TABLE, "r", "dead-exec") == "not held"  # the dead rollout cannot free the new holder's lock
    assert lock.holder(dynamodb, TABLE, "r")["owner"] == "exec-2"  # type: ignore[index]


def test_release_is_idempotent_and_a_second_call_reports_the_owners_release(dynamodb: Any) -> None:
    lock.acquire(dynamodb, TABLE, "r", "exec-1", 600, now=1000)
    assert lock.release(dynamodb, TABLE, "r", "exec-1") == "released"
    assert lock.release(dynamodb, TABLE, "r", "exec-1") == "released before"  # e.g. FinishRollout retried
    assert lock.holder(dynamodb, TABLE, "r") is None
    assert lock.release(dynamodb, TABLE, "r", "exec-2") == "not held"  # never its lock


def test_a_release_whose_answer_was_lost_reports_that_it_released(dynamodb: Any, faults: FaultPlan) -> None:
    # Given the lock's release taking effect and its answer lost: botocore sends it again, which finds nothing to delete
    lock.acquire(dynamodb, TABLE, "r", "exec-1", 600, now=1000)
    lost = faults.add("dynamodb", "TransactWriteItems", kind="lost-response")
    faults.add("dynamodb", "DeleteItem", kind="lost-response")  # how the release was sent before its record existed
    # Then the release says what is true: this call released it
    assert lock.release(dynamodb, TABLE, "r", "exec-1") == "released"
    assert lost.hits == 1 and lock.holder(dynamodb, TABLE, "r") is None
    # and the record is no lock: another rollout takes the route
    assert lock.acquire(dynamodb, TABLE, "r", "exec-2", 600, now=1001)["owner"] == "exec-2"
    assert lock.release(dynamodb, TABLE, "r", "exec-1") == "released before"  # exec-1's, not exec-2's lock
    assert lock.holder(dynamodb, TABLE, "r")["owner"] == "exec-2"  # type: ignore[index]


def test_locks_are_per_route(dynamodb: Any) -> None:
    lock.acquire(dynamodb, TABLE, "route-a", "exec-1", 600, now=1000)
    assert lock.acquire(dynamodb, TABLE, "route-b", "exec-2", 600, now=1000)["owner"] == "exec-2"
