"""A group's locks, all or nothing in one DynamoDB transaction (issue 25), against the emulated DynamoDB."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import RolloutInProgress
from mesh_rollout.grouping.locks import acquire_all, release_all
from mesh_rollout.shifting import lock
from mesh_rollout_local.faults import FaultPlan
from tests.offline.conftest import LOCK_TABLE

TABLE = LOCK_TABLE
PAYMENTS, CHECKOUT, ORDERS = (
    "lattice:svc-p/l/default",
    "ecs:arn:aws:ecs:us-west-2:123456789012:service/apps/checkout",
    "alb:rule-o",
)


def owners(dynamodb: Any, *lock_ids: str) -> list[str | None]:
    return [(held or {}).get("owner") for held in (lock.holder(dynamodb, TABLE, lock_id) for lock_id in lock_ids)]


def test_a_group_sharing_a_leg_with_another_is_refused_and_takes_none_of_its_locks(dynamodb: Any) -> None:
    # Given group 1 holding payments and checkout
    taken = acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1", 600, now=1000)
    assert taken == {"lockIds": [PAYMENTS, CHECKOUT], "owner": "group-1", "expiresAt": 1600}
    # When group 2 asks for orders and checkout
    with pytest.raises(RolloutInProgress) as refused:
        acquire_all(dynamodb, TABLE, [ORDERS, CHECKOUT], "group-2", 600, now=1100)
    # Then it is refused naming the lock and its holder, and orders, free, was not taken
    assert str(refused.value) == (
        f"{CHECKOUT} is locked by group-1 until 1600 (epoch seconds); this execution took no lock and changed nothing"
    )
    assert owners(dynamodb, PAYMENTS, CHECKOUT, ORDERS) == ["group-1", "group-1", None]


def test_every_lock_refused_is_named(dynamodb: Any) -> None:
    acquire_all(dynamodb, TABLE, [PAYMENTS], "group-1", 600, now=1000)
    acquire_all(dynamodb, TABLE, [CHECKOUT], "group-3", 900, now=1000)
    with pytest.raises(RolloutInProgress, match=f"{PAYMENTS} is locked by group-1 until 1600; {CHECKOUT} is locked by group-3"):
        acquire_all(dynamodb, TABLE, [PAYMENTS, ORDERS, CHECKOUT], "group-2", 600, now=1100)
    assert owners(dynamodb, ORDERS) == [None]


def test_a_retried_acquire_by_the_same_owner_takes_them_again(dynamodb: Any) -> None:
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1", 600, now=1000)
    again = acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1", 600, now=1001)
    assert again["expiresAt"] == 1601 and owners(dynamodb, PAYMENTS, CHECKOUT) == ["group-1", "group-1"]


def test_an_acquire_whose_answer_was_lost_succeeds_on_botocores_retry(dynamodb: Any, faults: FaultPlan) -> None:
    lost = faults.add("dynamodb", "TransactWriteItems", kind="lost-response")
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1", 600, now=1000)
    assert lost.hits == 1 and owners(dynamodb, PAYMENTS, CHECKOUT) == ["group-1", "group-1"]


def test_an_expired_lock_is_taken_with_the_others(dynamodb: Any) -> None:
    acquire_all(dynamodb, TABLE, [CHECKOUT], "dead-group", 600, now=1000)
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-2", 600, now=1601)
    assert owners(dynamodb, PAYMENTS, CHECKOUT) == ["group-2", "group-2"]
    assert release_all(dynamodb, TABLE, [CHECKOUT], "dead-group") == {CHECKOUT: "not held"}
    assert owners(dynamodb, CHECKOUT) == ["group-2"]


def test_release_all_frees_every_lock_and_a_second_call_reports_the_earlier_release(dynamodb: Any) -> None:
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT, ORDERS], "group-1", 600, now=1000)
    assert release_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT, ORDERS], "group-1", by="clean-up") == dict.fromkeys(
        [PAYMENTS, CHECKOUT, ORDERS], "released"
    )
    assert owners(dynamodb, PAYMENTS, CHECKOUT, ORDERS) == [None, None, None]
    # each release is recorded as lock.release records it
    record = lock.release_record(dynamodb, TABLE, CHECKOUT, "group-1")
    assert record is not None and record["releasedIn"] == {"S": "clean-up"}
    assert release_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT, ORDERS], "group-1") == dict.fromkeys(
        [PAYMENTS, CHECKOUT, ORDERS], "released before"
    )
    # and another group takes them (a release record is no lock)
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT, ORDERS], "group-2", 600)


def test_release_all_frees_those_still_held_when_one_was_taken_over(dynamodb: Any) -> None:
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1", 600, now=1000)
    acquire_all(dynamodb, TABLE, [CHECKOUT], "group-2", 600, now=1601)  # group-1's expired
    assert release_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1") == {PAYMENTS: "released", CHECKOUT: "not held"}
    assert owners(dynamodb, PAYMENTS, CHECKOUT) == [None, "group-2"]


def test_a_release_whose_answer_was_lost_reports_that_it_released(dynamodb: Any, faults: FaultPlan) -> None:
    acquire_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1", 600, now=1000)
    lost = faults.add("dynamodb", "TransactWriteItems", kind="lost-response")
    assert release_all(dynamodb, TABLE, [PAYMENTS, CHECKOUT], "group-1") == {PAYMENTS: "released", CHECKOUT: "released"}
    assert lost.hits == 1 and owners(dynamodb, PAYMENTS, CHECKOUT) == [None, None]


def test_one_transaction_takes_at_most_its_100_actions_each_lock_once() -> None:
    with pytest.raises(ValueError, match="at most 100"):
        acquire_all(None, TABLE, [f"r{i}" for i in range(101)], "group-1", 600)
    with pytest.raises(ValueError, match="at most 50"):
        release_all(None, TABLE, [f"r{i}" for i in range(51)], "group-1")
    with pytest.raises(ValueError, match="each once"):
        acquire_all(None, TABLE, [PAYMENTS, PAYMENTS], "group-1", 600)
