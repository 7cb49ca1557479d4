"""The per-service lock of an ECS deployment: AcquireRouteLock's item `ecs:<serviceArn>`, plus the
`serviceDeploymentArn` the execution gates (recorded once known), so the hook-event function and the clean-up
can tell which deployment the holder owns."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, error_code
from mesh_rollout.errors import LockLost


def lock_id_for(service_arn: str) -> str:
    return f"ecs:{service_arn}"


def record_deployment(dynamodb: Any, table: str, lock_id: str, owner: str, deployment_arn: str) -> None:
    """Write the deployment's ARN on the lock item, only while `owner` holds it; LockLost otherwise."""
    arn = {"S": deployment_arn}
    _set_while_held(dynamodb, table, lock_id, owner, "serviceDeploymentArn", arn, f"{deployment_arn} not recorded")


def _set_while_held(
    dynamodb: Any, table: str, lock_id: str, owner: str, attribute: str, value: dict[str, str], refused: str
) -> None:
    """SET `attribute` on the lock item, only while `owner` holds it; LockLost (saying `refused`) otherwise."""
    with aws_errors(f"UpdateItem lock {lock_id}"):
        try:
            dynamodb.update_item(
                TableName=table,
                Key={"lockId": {"S": lock_id}},
                UpdateExpression=f"SET {attribute} = :value",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":value": value, ":me": {"S": owner}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            raise LockLost(f"{lock_id}: this execution no longer holds the lock; {refused}") from exc


def lock_item(dynamodb: Any, table: str, lock_id: str, live: bool = True) -> dict[str, Any] | None:
    """{"owner", "expiresAt", "serviceDeploymentArn" (or None)} of the lock item, or None if there is none
    (or, with `live`, if it has expired: lock.acquire lets anyone take an expired lock)."""
    with aws_errors(f"GetItem lock {lock_id}"):
        item = dynamodb.get_item(TableName=table, Key={"lockId": {"S": lock_id}}, ConsistentRead=True).get("Item")
    if not item or (live and int(item["expiresAt"]["N"]) < int(time.time())):
        return None
    return {
        "owner": item["owner"]["S"],
        "expiresAt": int(item["expiresAt"]["N"]),
        "serviceDeploymentArn": item.get("serviceDeploymentArn", {}).get("S"),
        "startingAt": int(item["startingAt"]["N"]) if "startingAt" in item else None,
    }


def mark_starting(dynamodb: Any, table: str, lock_id: str, owner: str, at_ms: int) -> None:
    """Write, on the lock item and only while `owner` holds it, that its UpdateService is about to be sent (epoch
    milliseconds): a retry whose earlier try's answer was lost then looks for the deployment that try started, even
    if ECS has already ended it (rolled back), rather than starting another; LockLost otherwise."""
    _set_while_held(dynamodb, table, lock_id, owner, "startingAt", {"N": str(at_ms)}, "nothing was started")
