"""A per-route lock in DynamoDB: a conditional write with an expiry, so a dead rollout cannot hold it forever."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, error_code
from mesh_rollout.errors import RolloutInProgress


def acquire(dynamodb: Any, table: str, lock_id: str, owner: str, seconds: int, now: float | None = None) -> dict[str, Any]:
    """Take the lock, or take it back if this owner already holds it (a retried call); else RolloutInProgress."""
    now = int(now if now is not None else time.time())
    item = {
        "lockId": {"S": lock_id},
        "owner": {"S": owner},
        "acquiredAt": {"N": str(now)},
        "expiresAt": {"N": str(now + seconds)},
    }
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(lockId) OR expiresAt < :now OR #owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":now": {"N": str(now)}, ":owner": {"S": owner}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise classify(exc, f"PutItem lock {lock_id}") from exc
        response: dict[str, Any] = dict(exc.response)
        holder: dict[str, Any] = response.get("Item", {})
        raise RolloutInProgress(
            f"{lock_id} is locked by {holder.get('owner', {}).get('S', 'another rollout')} "
            f"until {holder.get('expiresAt', {}).get('N', '?')} (epoch seconds); this execution changed nothing"
        ) from exc
    return {"lockId": lock_id, "owner": owner, "expiresAt": now + seconds}


def release(dynamodb: Any, table: str, lock_id: str, owner: str) -> bool:
    """Release the lock if this owner holds it; True if released, False if it was not ours (or gone)."""
    try:
        dynamodb.delete_item(
            TableName=table,
            Key={"lockId": {"S": lock_id}},
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise classify(exc, f"DeleteItem lock {lock_id}") from exc
    return True


def holder(dynamodb: Any, table: str, lock_id: str) -> dict[str, Any] | None:
    """Who holds the lock now, or None."""
    with aws_errors(f"GetItem lock {lock_id}"):
        item = dynamodb.get_item(TableName=table, Key={"lockId": {"S": lock_id}}, ConsistentRead=True).get("Item")
    if not item:
        return None
    return {"lockId": lock_id, "owner": item["owner"]["S"], "expiresAt": int(item["expiresAt"]["N"])}


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
