"""A mesh rollout's stop flag: the lock-table item `stopped:<execution ARN>` that a failed service writes
(StopNewServices in statemachine/mesh_rollout.asl.json) so that services not started yet do not start.

FinishMeshRollout removes it. A rollout that ends without getting there (stopped, timed out, or failed in
FinishMeshRollout itself) runs no Catch, so the ExecutionStatusChange function removes it when the execution ends.
"""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws import aws_errors

STOP_FLAG_PREFIX = "stopped:"


def stop_key(execution_arn: str) -> str:
    """The flag's lockId, as the state machine writes it: States.Format('stopped:{}', $$.Execution.Id)."""
    return f"{STOP_FLAG_PREFIX}{execution_arn}"


def clear_stop(dynamodb: Any, table: str, key: str) -> bool:
    """Remove the flag (none is fine); True if there was one."""
    with aws_errors(f"DeleteItem {key}"):
        removed = dynamodb.delete_item(TableName=table, Key={"lockId": {"S": key}}, ReturnValues="ALL_OLD")
    return bool(removed.get("Attributes"))


def clear_leftover_stop_flag(dynamodb: Any, table: str, execution_arn: str) -> list[str]:
    """A mesh rollout ended, whatever way: remove its stop flag if it is still there. Returns what was done."""
    key = stop_key(execution_arn)
    if not clear_stop(dynamodb, table, key):
        return []
    return [f"stop flag {key} removed (the rollout ended before FinishMeshRollout removed it)"]
