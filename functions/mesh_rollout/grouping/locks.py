"""A group's locks, all or nothing: every leg's lock (its route's or ECS service's, as a single execution takes it)
in one DynamoDB transaction, so two groups that share a leg never interleave and a refused group changes nothing
(one lock, a route alone's, in a conditional PutItem: the same condition, at half a transaction's write cost,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling).

TransactWriteItems applies all of its actions or none, up to 100 of them, no two on one item, and a cancelled
transaction's CancellationReasons say, per action in order, why (with the item, if the action asked for
ReturnValuesOnConditionCheckFailure ALL_OLD):
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
"""

from __future__ import annotations

import time
import uuid
from typing import Any, TypedDict, cast

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, error_code
from mesh_rollout.errors import RolloutInProgress, TransientAwsError
from mesh_rollout.shifting.lock import (
    Release,
    acquire,
    acquire_condition,
    lock_item,
    release_actions,
    release_record,
)

MAX_TRANSACTION_ACTIONS = 100


class GroupLocks(TypedDict):
    """AcquireRouteLock's result for a group: every lock taken, by whom, until when."""

    lockIds: list[str]
    owner: str
    expiresAt: int


def acquire_all(dynamodb: Any, table: str, lock_ids: list[str], owner: str, seconds: int, now: float | None = None) -> GroupLocks:
    """Take every lock, each on lock.acquire's condition (free, expired, or already this owner's: a retried call
    takes them again), in one transaction: all of them, or none and RolloutInProgress naming each lock refused
    and who holds it until when."""
    _check_ids(lock_ids, 1)
    now = int(now if now is not None else time.time())
    if len(lock_ids) == 1:  # one lock (a route alone): the same condition in a PutItem, half a transaction's cost
        taken = acquire(dynamodb, table, lock_ids[0], owner, seconds, now)
        return {"lockIds": list(lock_ids), "owner": taken["owner"], "expiresAt": taken["expiresAt"]}
    puts = [
        {
            "Put": {
                "TableName": table,
                "Item": lock_item(lock_id, owner, now, seconds),
                **acquire_condition(owner, now),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for lock_id in lock_ids
    ]
    with aws_errors(f"TransactWriteItems locks {', '.join(lock_ids)}"):
        try:
            dynamodb.transact_write_items(TransactItems=puts)
        except ClientError as exc:
            reasons = _reasons(exc, f"TransactWriteItems locks {', '.join(lock_ids)}")
            held = [
                f"{lock_id} is locked by {_attribute(reason, 'owner', 'S', 'another rollout')}"
                f" until {_attribute(reason, 'expiresAt', 'N', '?')}"
                for lock_id, reason in zip(lock_ids, reasons, strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            ]
            raise RolloutInProgress(
                f"{'; '.join(held)} (epoch seconds); this execution took no lock and changed nothing"
            ) from exc
    return {"lockIds": list(lock_ids), "owner": owner, "expiresAt": now + seconds}


def release_all(
    dynamodb: Any, table: str, lock_ids: list[str], owner: str, now: float | None = None, by: str = ""
) -> dict[str, Release]:
    """Release every lock this owner holds, in one transaction with a release record each (as lock.release): each
    lock's "released" (by this call), "released before" (by an earlier call of the owner: a retry) or "not held"
    (not this owner's, or gone). A lock no longer this owner's cancels the transaction; it is sent again without
    the locks it found not held, so the others are released all the same."""
    _check_ids(lock_ids, 2)
    now = int(now if now is not None else time.time())
    call = uuid.uuid4().hex
    outcome: dict[str, Release] = {}
    pending = list(lock_ids)
    while pending:
        what = f"TransactWriteItems release locks {', '.join(pending)}"
        actions = [action for lock_id in pending for action in release_actions(table, lock_id, owner, now, call, by)]
        with aws_errors(what):
            try:
                dynamodb.transact_write_items(TransactItems=actions)
                outcome.update(dict.fromkeys(pending, "released"))
                break
            except ClientError as exc:
                reasons = _reasons(exc, what)
        deletes = reasons[::2]  # each lock's Delete, then its record's Put
        not_held = [
            lock_id for lock_id, reason in zip(pending, deletes, strict=False) if reason.get("Code") == "ConditionalCheckFailed"
        ]
        if not not_held:
            raise TransientAwsError(f"{what}: cancelled ({[reason.get('Code') for reason in reasons]})")
        for lock_id in not_held:
            found = release_record(dynamodb, table, lock_id, owner)
            outcome[lock_id] = (
                "not held" if found is None else ("released" if found["releaseCall"]["S"] == call else "released before")
            )
        pending = [lock_id for lock_id in pending if lock_id not in not_held]
    return {lock_id: outcome[lock_id] for lock_id in lock_ids}


def _check_ids(lock_ids: list[str], actions_per_lock: int) -> None:
    """Locks a transaction can take: at least one, each once, within its 100 actions (the group's input is
    refused past its MAX_LEGS first; two legs on one lock are refused by inputs.check_distinct_locks)."""
    most = MAX_TRANSACTION_ACTIONS // actions_per_lock
    if not lock_ids or len(set(lock_ids)) != len(lock_ids) or len(lock_ids) > most:
        raise ValueError(f"locks to take in one transaction: one or more, each once, at most {most}: {lock_ids}")


def _reasons(exc: ClientError, what: str) -> list[dict[str, Any]]:
    """A cancelled transaction's reasons, one per action; raised again unless only conditions failed (a
    concurrent transaction on an item, or a throttle, is TransientAwsError: the state machine retries it)."""
    if error_code(exc) != "TransactionCanceledException":
        raise exc
    reasons = cast(list[dict[str, Any]], dict(exc.response).get("CancellationReasons", []))
    codes = {str(reason.get("Code")) for reason in reasons}
    if "ConditionalCheckFailed" not in codes or codes - {"ConditionalCheckFailed", "None"}:
        raise TransientAwsError(f"{what}: cancelled ({[reason.get('Code') for reason in reasons]})") from exc
    return reasons


def _attribute(reason: dict[str, Any], name: str, kind: str, default: str) -> str:
    return str(reason.get("Item", {}).get(name, {}).get(kind, default))
