"""EcsDecide: answer ECS's waiting pause (CONTINUE or ROLLBACK), or stop the deployment for a rollback when no
pause waits; under the service's lock, idempotently."""

from __future__ import annotations

from typing import Any, Literal, cast

from mesh_rollout import clock
from mesh_rollout.aws.ecs_deployments import continue_hook, describe_deployment, hook_status, stop_for_rollback
from mesh_rollout.deploying.records import EcsDeploymentRecord
from mesh_rollout.deploying.status import POST
from mesh_rollout.errors import AwsRequestRejected, LockLost
from mesh_rollout.shifting.lock import LockFence

Action = Literal["CONTINUE", "ROLLBACK"]


def wait_after(plan: dict[str, Any], pause: dict[str, Any] | None, action: Action) -> int:
    """Seconds until the next read: after CONTINUE, ECS's next bake plus the settle (a step's bake before the
    next step's pause); after the shift to 100 %, where stepBakeTimeInMinutes "is not applied after reaching 100
    percent" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html), ECS pauses
    at POST_PRODUCTION_TRAFFIC_SHIFT at once: we hold it there for the deployment's bake (bakeTimeInMinutes) so that
    100 % is judged over that window before ECS retires the old revision; after the POST pause, ECS's own
    BAKE_TIME and CLEAN_UP (the final bake again). After a ROLLBACK, plan.pollSeconds."""
    if action == "ROLLBACK" or pause is None:
        return int(plan["pollSeconds"])
    if pause["stage"] == POST:
        return int(plan["bakeSeconds"]["final"])
    following = [s for s in plan["steps"] if s > pause["percent"]]
    bake = int(plan["bakeSeconds"]["step"]) if following and following[0] < 100 else int(plan["bakeSeconds"]["final"])
    return bake + int(plan["settleSeconds"])


def _answer_hook(ecs: Any, arn: str, hook_id: str, action: Action) -> str:
    """Answer one pause; a refusal counts as answered when the hook no longer waits (a retry's second call)."""
    refused = continue_hook(ecs, arn, hook_id, action)
    if refused is None:
        return f"{hook_id}: {action}"
    status = hook_status(describe_deployment(ecs, arn), hook_id)
    if status in (None, "AWAITING_ACTION"):
        raise AwsRequestRejected(f"ContinueServiceDeployment {arn} {hook_id} {action}: {refused}")
    return f"{hook_id}: already {status}"


def answer(
    ecs: Any,
    dynamodb: Any,
    table: str,
    plan: dict[str, Any],
    ecs_state: dict[str, Any],
    action: Action,
    owner: str,
    check: dict[str, Any] | None = None,
    reason: str | None = None,
) -> EcsDeploymentRecord:
    """ContinueServiceDeployment(action) for each waiting hookId; a ROLLBACK with no pause waiting is
    StopServiceDeployment stopType ROLLBACK (a ConflictException: it had finished; reported, not raised).
    Returns the `ecs` record with the step appended."""
    fence = LockFence(dynamodb, table, plan["lockId"], owner)
    holder = fence.lost()
    if holder is not None:
        raise LockLost(f"{plan['lockId']}: this execution no longer holds the lock (now {holder}); {action} not sent")
    arn = ecs_state["serviceDeploymentArn"]
    pause = ecs_state.get("pause")
    if pause and pause.get("hookIds"):
        answered = [_answer_hook(ecs, arn, hook_id, action) for hook_id in pause["hookIds"]]
    elif action == "ROLLBACK":
        refused = stop_for_rollback(ecs, arn)
        answered = [f"StopServiceDeployment ROLLBACK: {'refused, ' + refused if refused else 'requested'}"]
    else:
        raise AwsRequestRejected(f"{arn}: no pause waits for CONTINUE")
    step = {
        "percent": (pause or {}).get("percent", ecs_state.get("percent")),
        "stage": (pause or {}).get("stage", ecs_state.get("stage")),
        "verdict": (check or {}).get("summary"),
        "weights": ecs_state.get("weights"),
        "window": (check or {}).get("windowSeconds"),
        "action": action,
        **({"reason": reason} if reason else {}),
    }
    answered_record = {
        **ecs_state,
        "continuedAt": int(clock.now().timestamp()),
        "polls": 0,
        "waitSeconds": wait_after(plan, pause, action),
        "steps": [*ecs_state.get("steps", []), step],
        "decision": action,
        "answered": answered,
    }
    return cast(EcsDeploymentRecord, answered_record)  # the record it was given, with the step and the answer
