"""The per-route lock: conditional writes with an expiry (against the emulated DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mesh_rollout.errors import RolloutInProgress
from mesh_rollout.shifting import lock

TABLE = "locks"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-west-2")
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "lockId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lockId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


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
    assert lock.release(dynamodb, TABLE, "r", "dead-exec") is False  # the dead rollout cannot free the new holder's lock
    assert lock.holder(dynamodb, TABLE, "r")["owner"] == "exec-2"  # type: ignore[index]


def test_release_is_idempotent(dynamodb: Any) -> None:
    lock.acquire(dynamodb, TABLE, "r", "exec-1", 600, now=1000)
    assert lock.release(dynamodb, TABLE, "r", "exec-1") is True
    assert lock.release(dynamodb, TABLE, "r", "exec-1") is False
    assert lock.holder(dynamodb, TABLE, "r") is None


def test_locks_are_per_route(dynamodb: Any) -> None:
    lock.acquire(dynamodb, TABLE, "route-a", "exec-1", 600, now=1000)
    assert lock.acquire(dynamodb, TABLE, "route-b", "exec-2", 600, now=1000)["owner"] == "exec-2"
