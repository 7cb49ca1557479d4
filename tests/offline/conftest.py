"""Fixtures of tests/offline only: a lock table in moto's DynamoDB, and faults under botocore's retries for it
(test_lock.py, test_group_locks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from mesh_rollout_local.faults import FaultPlan

LOCK_TABLE = "locks"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A DynamoDB client on moto's account holding an empty lock table, LOCK_TABLE (as the template declares it)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-west-2")
        client.create_table(
            TableName=LOCK_TABLE,
            AttributeDefinitions=[{"AttributeName": "lockId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lockId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> FaultPlan:
    """Faults under botocore's retries for the emulated account of `dynamodb` (as OfflineAccount injects them)."""
    plan, original = FaultPlan(), BotocoreStubber.__call__

    def call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        return plan.intercept(lambda: original(stubber, event_name, request, **kwargs), event_name, request)

    monkeypatch.setattr(BotocoreStubber, "__call__", call)
    return plan
