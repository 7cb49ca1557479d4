"""After an execution ends: undo what a weight shift that did not finish left behind, free its locks, notify.

EventBridge sends every end of an execution here. StopExecution and execution timeouts run no Catch, so a
stopped weight shift would leave its weights and its locks behind; a shift whose FinishGroup could not
release them would keep them until they expire. Whatever state was running when it stopped, every leg goes
back to its snapshot (unless someone changed it by hand, or another rollout holds it now) and a released canary
image is undone (grouping.cleanup). EventBridge may deliver an event twice: what is done is said, and told once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

from mesh_rollout.aws import aws_errors
from mesh_rollout.deploying.cleanup import finished as ecs_deployment_finished
from mesh_rollout.deploying.cleanup import recover_unfinished_deployment
from mesh_rollout.errors import DryRunFoundProblems, readable_failure
from mesh_rollout.onboarding.stop_flag import clear_leftover_stop_flag
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.weight_shift import notify

if TYPE_CHECKING:  # the pinned stubs (boto3-stubs[stepfunctions]); nothing is imported at run time
    from mypy_boto3_stepfunctions import SFNClient

CLEANUP = "clean-up"  # the release records' `releasedIn` of a lock this function released for the execution
EARLIER_DELIVERY = "by an earlier delivery of this clean-up"  # which then told what it did


def state_output(history: list[dict[str, Any]], state: str, when: str = "Exited") -> dict[str, Any] | None:
    """The state data as `state` last exited (or, with when="Entered", as it last entered), or None."""
    found = None
    for event in history:
        details = event.get(f"state{when}EventDetails")
        key = "output" if when == "Exited" else "input"
        if details and details.get("name") == state and details.get(key) is not None:
            found = details[key]
    return json.loads(found) if found else None


def lock_line(dynamodb: Any, table: str, lock_id: str, execution_arn: str, previous: str) -> str:
    """What became of the lock, said before the clean-up frees it: `previous` is who held it when taken over."""
    cleaner = f"{execution_arn}#cleanup"
    if previous in (execution_arn, cleaner):  # cleaner: an earlier delivery kept it while its restore failed
        return f"lock {lock_id} released"
    if previous == "" and lock.release_record(dynamodb, table, lock_id, cleaner):
        return f"lock {lock_id} was already released {EARLIER_DELIVERY}"
    if previous == "" and lock.release_record(dynamodb, table, lock_id, execution_arn):
        return f"lock {lock_id} was already released by the execution"
    return f"lock {lock_id} was not held any more"


def recover_unfinished_shift(
    dynamodb: Any, table: str, ecs: Any, execution_arn: str, history: list[dict[str, Any]], status: str
) -> list[str]:
    """Undo what a weight shift (a group, or a route alone: the group of one leg it is) that ended ABORTED, TIMED_OUT
    or FAILED left (grouping.cleanup). Idempotent; returns what was done."""
    plan = state_output(history, "PlanWeightShift")
    if not plan or "legs" not in plan or plan.get("nothingToDo"):
        return ["it stopped before taking the route's lock: nothing to undo"]
    from mesh_rollout.grouping.cleanup import recover_unfinished_group

    return recover_unfinished_group(dynamodb, table, execution_arn, history, status, plan, ecs)


def release_for(dynamodb: Any, table: str, lock_id: str, execution_arn: str) -> str:
    """Release the execution's lock on its behalf; say who released it."""
    released = lock.release(dynamodb, table, lock_id, execution_arn, by=CLEANUP)
    if released == "released":
        return f"lock {lock_id} released (the execution could not release it itself)"
    if released == "released before":
        record = lock.release_record(dynamodb, table, lock_id, execution_arn) or {}
        by_us = record.get("releasedIn", {}).get("S") == CLEANUP
        return f"lock {lock_id} was already released {EARLIER_DELIVERY if by_us else 'by the execution'}"
    return f"lock {lock_id} was not held any more"


def release_leftover_lock(dynamodb: Any, table: str, execution_arn: str, output: Any) -> list[str]:
    """A weight shift (or a group) that SUCCEEDED but could not release its locks (its output says so) releases them now."""
    if not isinstance(output, dict) or output.get("lockReleased") is True:
        return []
    lock_ids = output.get("lockIds") or ([output["lockId"]] if "lockId" in output else [])  # a group's: every leg's
    return [release_for(dynamodb, table, lock_id, execution_arn) for lock_id in lock_ids]


def own_notice_sent(history: list[dict[str, Any]]) -> bool:
    """Whether the weight shift published its outcome itself (FinishGroup completed and its publish went out)."""
    return (state_output(history, "FinishGroup") or {}).get("result", {}).get("notified") is True


class StatusChangeHandled(TypedDict):
    """ExecutionStatusChange's result: what the clean-up did, and who told people (`notice`) or whether it did."""

    executionArn: str
    status: str
    done: list[str]
    notice: NotRequired[str]
    notified: NotRequired[bool]
    notificationError: NotRequired[str]


def _history(sfn: SFNClient, execution_arn: str) -> list[dict[str, Any]]:
    with aws_errors(f"GetExecutionHistory {execution_arn.split(':')[-1]}"):
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, includeExecutionData=True)
        # the events as plain documents: the history readers (deploying.cleanup, state_output) take them so
        return cast("list[dict[str, Any]]", [event for page in pages for event in page["events"]])


def handle_status_change(
    detail: dict[str, Any],
    sfn: SFNClient,
    dynamodb: Any,
    table: str,
    sns: Any,
    topic_arn: str,
    weight_shift_arn: str,
    ecs: Any = None,  # needed only to undo a release (a stopped shift that had updated its canary service)
    ecs_deployment_arn: str = "",  # the EcsDeploymentStateMachine's ARN
) -> StatusChangeHandled:
    """An execution of ours ended: clean up after a weight shift that did not finish; notify every failure and
    clean-up once: a weight shift whose FinishGroup published its outcome is not notified again."""
    status, execution_arn = detail["status"], detail["executionArn"]
    output = json.loads(detail.get("output") or "null")
    done: list[str] = []
    told = False
    if detail.get("error") == DryRunFoundProblems.__name__:  # read-only: nothing to undo; its report is for who asked
        return {"executionArn": execution_arn, "status": status, "done": [], "notice": "none: a dry run"}
    if detail["stateMachineArn"] == weight_shift_arn:
        if status == "SUCCEEDED" and isinstance(output, dict) and output.get("lockReleased") is not False:
            return {"executionArn": execution_arn, "status": status, "done": []}  # finished and told: nothing to say
        history = _history(sfn, execution_arn)
        told = own_notice_sent(history)
        if status == "SUCCEEDED":
            done = release_leftover_lock(dynamodb, table, execution_arn, output)
        else:
            done = recover_unfinished_shift(dynamodb, table, ecs, execution_arn, history, status)
    elif ecs_deployment_arn and detail["stateMachineArn"] == ecs_deployment_arn:
        if status == "SUCCEEDED":  # its FinishEcsDeployment released the lock and told
            return {"executionArn": execution_arn, "status": status, "done": []}
        history = _history(sfn, execution_arn)
        told = ecs_deployment_finished(history)
        done = recover_unfinished_deployment(ecs, dynamodb, table, execution_arn, history)
    else:  # a mesh rollout: StopExecution and timeouts run no Catch, so its stop flag may be left behind
        done = clear_leftover_stop_flag(dynamodb, table, execution_arn)
    result: StatusChangeHandled = {"executionArn": execution_arn, "status": status, "done": done}
    if told:
        return {**result, "notice": "sent by the execution's FinishGroup"}
    if any(EARLIER_DELIVERY in line for line in done):  # EventBridge delivered the event again
        return {**result, "notice": "sent by an earlier delivery"}
    if status == "SUCCEEDED" and not done:
        return result  # nothing to say
    error, cause = readable_failure({"Error": detail.get("error") or "", "Cause": detail.get("cause") or ""})
    lines = [f"execution {execution_arn} ended {status}" + (f": {error}: {cause}" if error else "."), *done]
    machine = detail["stateMachineArn"].split(":")[-1]
    not_sent = notify(sns, topic_arn, f"mesh-rollout: {machine} {status}", "\n".join(lines))
    result["notified"] = not_sent is None
    if not_sent:
        result["notificationError"] = not_sent
    return result
