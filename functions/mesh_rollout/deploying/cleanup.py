"""After an EcsDeploymentStateMachine execution ended without its Finish (stopped, timed out, failed): roll back
the ECS deployment it gated, if it still holds the service's lock and the deployment still runs, then free the lock.

ECS rolls back by itself when nobody answers a pause (its timeoutConfiguration action ROLLBACK); this does it at
once. At a pause: ContinueServiceDeployment ROLLBACK (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html);
otherwise StopServiceDeployment stopType ROLLBACK, which ECS accepts from PENDING and IN_PROGRESS
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html).
"""

from __future__ import annotations

import json
from typing import Any

from mesh_rollout.aws.ecs_deployments import continue_hook, describe_deployment, stop_for_rollback
from mesh_rollout.deploying.service_lock import lock_item
from mesh_rollout.deploying.start import running_deployment
from mesh_rollout.deploying.status import our_pause
from mesh_rollout.shifting import lock

CLEANUP_LOCK_SECONDS = 900


def _outputs(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for event in history:
        output = (event.get("stateExitedEventDetails") or {}).get("output")
        if output:
            data = json.loads(output)
            if isinstance(data, dict):
                found.append(data)
    return found


def _last(history: list[dict[str, Any]], key: str, member: str) -> dict[str, Any] | None:
    """The last `$.<key>` a state exited with that has `member` set, or None."""
    found = [o[key] for o in _outputs(history) if isinstance(o.get(key), dict) and o[key].get(member)]
    return found[-1] if found else None


def planned(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The execution's plan ($.plan as states last exited with it), or None if it never got one."""
    return _last(history, "plan", "lockId")


def started_deployment(history: list[dict[str, Any]]) -> str | None:
    """The deployment the execution recorded in $.ecs (StartEcsDeployment's output), or None."""
    ecs = _last(history, "ecs", "serviceDeploymentArn")
    return str(ecs["serviceDeploymentArn"]) if ecs else None


def registered_revision(history: list[dict[str, Any]]) -> str | None:
    """The task definition RegisterRelease registered for the execution ($.release.taskDefinition), or None."""
    release = _last(history, "release", "taskDefinition")
    return str(release["taskDefinition"]) if release else None


def unrecorded_deployment(ecs: Any, plan: dict[str, Any], history: list[dict[str, Any]]) -> str | None:
    """A deployment StartEcsDeployment started but did not record (its UpdateService landed, then the execution
    stopped or the write to the lock item failed): the service's running deployment of the revision the execution
    deployed (ListServiceDeployments, then DescribeServiceRevisions for its task definition), or None."""
    task_definition = plan.get("taskDefinition") or registered_revision(history)
    if plan.get("mode") != "start" or not task_definition:
        return None
    ours, _ = running_deployment(ecs, plan, task_definition)
    return str(ours["serviceDeploymentArn"]) if ours else None


def finished(history: list[dict[str, Any]]) -> bool:
    """Whether FinishEcsDeployment ran to its record ($.result with lockReleased) and published its notice."""
    return any(isinstance(o.get("result"), dict) and o["result"].get("notified") is True for o in _outputs(history))


def roll_back(ecs: Any, arn: str) -> str:
    """Roll the deployment back if it still runs: answer our waiting pauses ROLLBACK, else stop it ROLLBACK."""
    deployment = describe_deployment(ecs, arn)
    status = deployment.get("status")
    if status not in ("PENDING", "IN_PROGRESS"):
        return f"ECS deployment {arn} left as it is: {status}"
    pause = our_pause(deployment)
    if pause is not None:
        refused = [r for r in (continue_hook(ecs, arn, h, "ROLLBACK") for h in pause["hookIds"]) if r]
        if not refused:
            return f"ECS deployment {arn} rolled back at its {pause['stage']} pause ({pause['percent']} %)"
    # no pause of ours waits (or it stopped waiting meanwhile): stop it with a rollback
    conflict = stop_for_rollback(ecs, arn)
    if conflict:
        return f"ECS deployment {arn} had finished meanwhile ({conflict})"
    return f"ECS deployment {arn} stopped with a rollback (was {status})"


def recover_unfinished_deployment(
    ecs: Any, dynamodb: Any, table: str, execution_arn: str, history: list[dict[str, Any]]
) -> list[str]:
    """Roll back and unlock what an execution that ended ABORTED, TIMED_OUT or FAILED left. Idempotent."""
    plan = planned(history)
    if plan is None:
        return ["it stopped before planning: nothing to undo"]
    lock_id = plan["lockId"]
    item = lock_item(dynamodb, table, lock_id, live=False)  # before the take-over's PutItem replaces the item
    cleaner = f"{execution_arn}#cleanup"
    if item is None or item["owner"] not in (execution_arn, cleaner):
        if lock.release_record(dynamodb, table, lock_id, cleaner):
            return [f"lock {lock_id} was already released by an earlier delivery of this clean-up"]
        return [f"lock {lock_id} is not the execution's (now {item['owner'] if item else 'free'}): the deployment is left alone"]
    # the history's record too: a retry of this clean-up finds the item its take-over wrote, without the ARN
    arn = (
        item["serviceDeploymentArn"]
        or started_deployment(history)
        or plan.get("serviceDeploymentArn")
        or unrecorded_deployment(ecs, plan, history)
    )
    # the lock moves to the clean-up first: an answer of the stopped execution still in flight finds it lost
    if lock.take_over(dynamodb, table, lock_id, execution_arn, cleaner, CLEANUP_LOCK_SECONDS) is None:
        return [f"lock {lock_id} was taken by another rollout meanwhile: the deployment is left alone"]
    done = [roll_back(ecs, arn) if arn else "no ECS deployment was started"]
    lock.release(dynamodb, table, lock_id, cleaner)
    return [*done, f"lock {lock_id} released"]
