"""A per-route lock in DynamoDB: a conditional write with an expiry, so a dead rollout cannot hold it forever."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, error_code
from mesh_rollout.errors import RolloutInProgress, TransientAwsError


class LockAcquired(TypedDict):
    """AcquireRouteLock's result: the lock this execution holds, and until when (epoch seconds)."""

    lockId: str
    owner: str
    expiresAt: int


def lock_item(lock_id: str, owner: str, now: int, seconds: int) -> dict[str, Any]:
    """The lock as stored: who holds it, since when and until when (epoch seconds; expired, anyone may take it)."""
    return {
        "lockId": {"S": lock_id},
        "owner": {"S": owner},
        "acquiredAt": {"N": str(now)},
        "expiresAt": {"N": str(now + seconds)},
    }


def acquire_condition(owner: str, now: int) -> dict[str, Any]:
    """When `owner` may write the lock (PutItem's members, and a transaction's Put's): it is free, expired, or
    already this owner's (a retry of a call whose answer was lost finds its own item)."""
    return {
        "ConditionExpression": "attribute_not_exists(lockId) OR expiresAt < :now OR #owner = :owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": {":now": {"N": str(now)}, ":owner": {"S": owner}},
    }


def acquire(dynamodb: Any, table: str, lock_id: str, owner: str, seconds: int, now: float | None = None) -> LockAcquired:
    """Take the lock, or take it back if this owner already holds it (a retried call); else RolloutInProgress."""
    now = int(now if now is not None else time.time())
    item = lock_item(lock_id, owner, now, seconds)
    with aws_errors(f"PutItem lock {lock_id}"):
        try:
            dynamodb.put_item(
                TableName=table, Item=item, **acquire_condition(owner, now), ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            holder: dict[str, Any] = dict(exc.response.get("Item", {}))  # type: ignore[call-overload]
            raise RolloutInProgress(
                f"{lock_id} is locked by {holder.get('owner', {}).get('S', 'another rollout')} "
                f"until {holder.get('expiresAt', {}).get('N', '?')} (epoch seconds); this execution changed nothing"
            ) from exc
    return {"lockId": lock_id, "owner": owner, "expiresAt": now + seconds}


Release = Literal["released", "released before", "not held"]
# A release leaves a record of itself for longer than anything may retry it (EventBridge keeps an event a day).
RELEASE_RECORD_SECONDS = 2 * 86400


def release_record_key(lock_id: str, owner: str) -> dict[str, Any]:
    return {"lockId": {"S": f"released:{lock_id} by {owner}"}}


def release(dynamodb: Any, table: str, lock_id: str, owner: str, now: float | None = None, by: str = "") -> Release:
    """Release the lock if this owner holds it: "released" (by this call), "released before" (by an earlier call
    of the same owner) or "not held" (it was not this owner's, or is gone). `by` names who released it for the
    owner (the record's `releasedIn`: the clean-up releases a lock on the execution's behalf).

    A deleted lock leaves no trace of whose it was, so a call whose answer was lost (botocore retries it, or the
    step is retried) would find nothing to delete and could not tell "I freed it" from "it was never mine". The
    delete and a record of it (`released:<lockId> by <owner>`, with a call id) are one transaction: a retry
    that finds nothing to delete reads the record and reports the release this owner made."""
    now = int(now if now is not None else time.time())
    call = uuid.uuid4().hex
    with aws_errors(f"TransactWriteItems release lock {lock_id}"):
        try:
            dynamodb.transact_write_items(TransactItems=release_actions(table, lock_id, owner, now, call, by))
            return "released"
        except ClientError as exc:
            cancelled = cast(list[dict[str, Any]], dict(exc.response).get("CancellationReasons", []))
            reasons = [str(reason.get("Code")) for reason in cancelled]
            if error_code(exc) != "TransactionCanceledException":
                raise
            if "ConditionalCheckFailed" not in reasons:  # a concurrent transaction on the item, or a throttle
                raise TransientAwsError(f"TransactWriteItems release lock {lock_id}: cancelled ({reasons})") from exc
    found = release_record(dynamodb, table, lock_id, owner)
    if found is None:
        return "not held"
    return "released" if found["releaseCall"]["S"] == call else "released before"


def release_actions(table: str, lock_id: str, owner: str, now: int, call: str, by: str = "") -> list[dict[str, Any]]:
    """A release as TransactWriteItems' actions: delete the lock if `owner` holds it, and record the release
    (`call` tells this call's record from an earlier one's)."""
    record = {
        **release_record_key(lock_id, owner),
        "releasedBy": {"S": owner},  # not "owner": the record is no lock (`mesh-rollout list` skips it)
        "releaseCall": {"S": call},
        "releasedAt": {"N": str(now)},
        **({"releasedIn": {"S": by}} if by else {}),
        "expiresAt": {"N": str(now + RELEASE_RECORD_SECONDS)},
    }
    delete = {
        "TableName": table,
        "Key": {"lockId": {"S": lock_id}},
        "ConditionExpression": "#owner = :owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": {":owner": {"S": owner}},
    }
    return [{"Delete": delete}, {"Put": {"TableName": table, "Item": record}}]


def release_record(dynamodb: Any, table: str, lock_id: str, owner: str) -> dict[str, Any] | None:
    """The record of this owner's last release of the lock (in the last RELEASE_RECORD_SECONDS), or None."""
    with aws_errors(f"GetItem release record {lock_id}"):
        item = dynamodb.get_item(TableName=table, Key=release_record_key(lock_id, owner), ConsistentRead=True).get("Item")
    return dict(item) if item else None


def holder(dynamodb: Any, table: str, lock_id: str) -> dict[str, Any] | None:
    """Who holds the lock now, or None."""
    with aws_errors(f"GetItem lock {lock_id}"):
        item = dynamodb.get_item(TableName=table, Key={"lockId": {"S": lock_id}}, ConsistentRead=True).get("Item")
    if not item:
        return None
    return {"lockId": lock_id, "owner": item["owner"]["S"], "expiresAt": int(item["expiresAt"]["N"])}


def take_over(dynamodb: Any, table: str, lock_id: str, from_owner: str, to_owner: str, seconds: int) -> str | None:
    """Move the lock from `from_owner` (a stopped execution) to `to_owner` (its clean-up), or take it if it is
    free or expired. Returns the previous owner ("" if free); None if another live rollout holds it."""
    now = int(time.time())
    item = lock_item(lock_id, to_owner, now, seconds)
    with aws_errors(f"PutItem lock {lock_id}"):
        try:
            response = dynamodb.put_item(
                TableName=table,
                Item=item,
                ConditionExpression="attribute_not_exists(lockId) OR expiresAt < :now OR #owner IN (:from, :to)",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":from": {"S": from_owner}, ":to": {"S": to_owner}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
    return str(response.get("Attributes", {}).get("owner", {}).get("S", ""))


@dataclass(frozen=True)
class LockFence:
    """Checks, right after a weight write, that the writing execution still holds the route's lock."""

    dynamodb: Any
    table: str
    lock_id: str
    owner: str

    def lost(self) -> str | None:
        """None while `owner` holds the lock; else who holds it now ("nobody" if it is free)."""
        held = holder(self.dynamodb, self.table, self.lock_id)
        if held is not None and held["owner"] == self.owner:
            return None
        return held["owner"] if held else "nobody"


# --- halts: a step-mode rollout that rolled back stays stopped until someone clears it ---------------------


def halt_key(lock_id: str) -> dict[str, Any]:
    return {"lockId": {"S": f"halted:{lock_id}"}}


def halt(dynamodb: Any, table: str, lock_id: str, canary: str, reason: str, by: str, now: float | None = None) -> None:
    """Record that scheduled steps towards `canary` on this route must stop (a rollback happened)."""
    item = {
        **halt_key(lock_id),
        "canary": {"S": canary},
        "reason": {"S": reason[:2000]},
        "haltedBy": {"S": by},
        "haltedAt": {"N": str(int(now if now is not None else time.time()))},
    }
    with aws_errors(f"PutItem halt {lock_id}"):
        dynamodb.put_item(TableName=table, Item=item)


def halted(dynamodb: Any, table: str, lock_id: str) -> dict[str, str] | None:
    """The halt recorded for this route ({"canary", "reason", "haltedBy"}), or None."""
    with aws_errors(f"GetItem halt {lock_id}"):
        item = dynamodb.get_item(TableName=table, Key=halt_key(lock_id), ConsistentRead=True).get("Item")
    if not item:
        return None
    return {"canary": item["canary"]["S"], "reason": item["reason"]["S"], "haltedBy": item["haltedBy"]["S"]}


def clear_halt(dynamodb: Any, table: str, lock_id: str) -> None:
    with aws_errors(f"DeleteItem halt {lock_id}"):
        dynamodb.delete_item(TableName=table, Key=halt_key(lock_id))
