"""What one route's leg does at each state of the WeightShiftStateMachine after its plan (snapshot, step, restore,
finalize, a route alone's end), one function each, taking the clients they use; grouping.legs runs them over every
leg."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast

from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import ServiceRevision, describe_service
from mesh_rollout.errors import LockLost, MeshRolloutError, WeightsNotApplied, readable_failure
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.lock import LockAcquired, LockFence
from mesh_rollout.shifting.release import release_revision
from mesh_rollout.shifting.weights import describe_weights, expect_weights, retired_weights, weights_at
from mesh_rollout.traffic import RouteState, WeightedRoute, Weights, route_for


class RouteSnapshot(TypedDict):
    """ShiftTraffic's snapshot: the route's weights and the backend's snapshot of the whole route (one of the three)."""

    weights: Weights
    spec: NotRequired[dict[str, Any]]  # App Mesh: the route's spec
    action: NotRequired[dict[str, Any]]  # VPC Lattice: the listener rule's action
    actions: NotRequired[list[dict[str, Any]]]  # ALB: the rule's actions


class StepApplied(TypedDict):
    """ShiftTraffic's apply: the step's weights, and whether this call wrote them (False: a retry found them there)."""

    percent: int
    weights: Weights
    changed: bool
    version: int | None


class RouteRestored(TypedDict):
    """ShiftTraffic's restore: the weights the route is back at, and whether this call wrote them."""

    restored: bool
    weights: Weights
    route: str


class CanaryFinalized(TypedDict):
    """A leg's finalize (grouping.legs.finalize_legs): what was done (in words) and the route's weights after it."""

    done: list[str]
    weights: Weights


class ApprovalRequested(TypedDict):
    """RequestApproval's return (the Task's result is the approver's answer, which the CLI sends, not this)."""

    messageId: str
    health: str


class RolloutFinished(TypedDict):
    """A route alone's end (grouping.finish.finish_route): how it ended, whether the lock was released, its weights now."""

    status: str  # SUCCEEDED or FAILED
    error: str
    cause: str
    lockReleased: bool
    weights: Weights | None
    notified: bool
    notificationError: NotRequired[str]


class ReleaseRevision(ServiceRevision):
    """RegisterRelease's result: the canary service's release revision, and what the gate loop polls with."""

    pollSeconds: int
    maxChecks: int


def acquire_lock(dynamodb: Any, table: str, lock_id: str, owner: str, seconds: int) -> LockAcquired:
    return lock.acquire(dynamodb, table, lock_id, owner, seconds)


def take_snapshot(route_ref: dict[str, Any], planned: Weights) -> RouteSnapshot:
    """Record the route before the first change; it must still be what the plan was made from."""
    state = route_for(route_ref).read()
    expect_weights(state.weights, [planned], route_ref["label"])
    return cast(RouteSnapshot, {"weights": state.weights, **state.snapshot})


def approval_wait_seconds(requested: dict[str, Any] | None, decision: dict[str, Any] | None) -> float | None:
    """Seconds between the approval request and its answer, or None (no approval, or an answer without a time)."""
    try:
        asked = dt.datetime.fromisoformat(str((requested or {})["at"]).replace("Z", "+00:00"))
        answered = dt.datetime.fromisoformat(str((decision or {})["answeredAt"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return max(0.0, (answered - asked).total_seconds())


def _write_verified(
    route: WeightedRoute, weights: Weights, based_on: RouteState, fence: LockFence, snapshot: Weights
) -> RouteState:
    """Write `weights`, then make sure this execution still held the route's lock when it wrote: a write that was
    in flight while the execution was stopped (and its clean-up took the lock) is undone, back to the snapshot,
    which is where the clean-up puts the route. Then check the write took (from the write's own response)."""
    after = route.write(weights, based_on)
    holder = fence.lost()
    if holder is not None:
        undone = after.weights == weights and route.write(snapshot, after).weights == snapshot
        what = f"undone, back to the snapshot {describe_weights(snapshot)}" if undone else "overtaken by another write"
        raise LockLost(
            f"route {route.label}: this execution no longer holds lock {fence.lock_id} (now {holder}); "
            f"its write of {describe_weights(weights)} was {what}"
        )
    if after.weights != weights:
        raise WeightsNotApplied(
            f"route {route.label}: wrote {describe_weights(weights)} but it reads back {describe_weights(after.weights)}"
        )
    return after


def apply_step(route_ref: dict[str, Any], snapshot: dict[str, Any], step: dict[str, Any], fence: LockFence) -> StepApplied:
    """Write the step's weights if the route still holds what this rollout last wrote (the plan's weights before it)."""
    route = route_for(route_ref)
    target: Weights = step["weights"]
    current = route.read()
    if current.weights == target:  # a retried call whose write went through
        return {"percent": step["percent"], "weights": target, "changed": False, "version": current.version}
    expect_weights(current.weights, [step["previous"]], route.label)
    after = _write_verified(route, target, current, fence, snapshot["weights"])
    return {"percent": step["percent"], "weights": target, "changed": True, "version": after.version}


def weights_written(base: Weights, steps: list[dict[str, Any]], finalize: dict[str, Any] | None) -> list[Weights]:
    """Every weight set this rollout could have left on the route: the snapshot, each step, and finalize's."""
    ours = [base, *(s["weights"] for s in steps)]
    if finalize and finalize.get("pending") and finalize.get("weights"):
        ours.append(finalize["weights"])
    return ours


def restore_route(
    route_ref: dict[str, Any],
    snapshot: dict[str, Any],
    stable: str,
    canary: str,
    steps: list[dict[str, Any]],
    mode: str,
    fence: LockFence,
    finalize: dict[str, Any] | None = None,
) -> RouteRestored:
    """Undo this rollout: the snapshot's weighted targets (plan mode), or all traffic to stable (step mode).
    Only the weights are put back: this rollout changed nothing else, so anything else that differs from the
    snapshot (a retry policy, a timeout) was changed by someone else and stays."""
    route = route_for(route_ref)
    base: Weights = snapshot["weights"]
    current = route.read()
    target = weights_at(base, stable, canary, 0) if mode == "increment" else base
    if current.weights == target:
        return {"restored": False, "weights": target, "route": route.label}
    expect_weights(current.weights, [*weights_written(base, steps, finalize), target], route.label)
    after = _write_verified(route, target, current, fence, base)
    return {"restored": True, "weights": after.weights, "route": route.label}


def finalize_canary(
    route_ref: dict[str, Any],
    snapshot: dict[str, Any],
    stable: str,
    canary: str,
    settings: dict[str, Any],
    ecs: Any,
    fence: LockFence,
) -> CanaryFinalized:
    """Retire the stable version once the canary holds everything: off the route, then (opt-in) its ECS service
    to 0, then its virtual node or target group deleted."""
    route = route_for(route_ref)
    done: list[str] = []
    state = route.read()
    current = state.weights
    if settings.get("removeStableTarget") and stable in current:
        expect_weights(current, [weights_at(current, stable, canary, 100)], route.label)
        retired = retired_weights(current, stable)
        current = _write_verified(route, retired, state, fence, snapshot["weights"]).weights
        done.append(f"removed {stable} from route {route.label}")
    service = settings.get("stableEcsService")
    if settings.get("scaleStableServiceToZero") and service:
        found = describe_service(ecs, service["cluster"], service["service"], "finalize.stableEcsService")
        if int(found.get("desiredCount", 0)) > 0:
            with aws_errors(f"UpdateService {service['cluster']}/{service['service']}"):
                ecs.update_service(cluster=service["cluster"], service=service["service"], desiredCount=0)
            done.append(f"scaled ECS service {service['cluster']}/{service['service']} to 0")
    if (settings.get("deleteStableNode") or settings.get("deleteStableTargetGroup")) and route.delete_target(stable):
        done.append(f"deleted {'virtual node' if settings.get('deleteStableNode') else 'target group'} {stable}")
    return {"done": done, "weights": current}


def approval_message(
    execution_arn: str, route_ref: dict[str, Any], now: Weights, nxt: Weights, health: Mapping[str, Any], timeout_seconds: int
) -> tuple[str, str]:
    """Subject and body of the approval request. No task token: approvers answer with the CLI."""
    subject = f"mesh-rollout: approve {route_ref['label']}?"[:100]
    body = "\n".join(
        [
            f"A weight shift on route {route_ref['label']} waits for approval.",
            "",
            f"  now:     {describe_weights(now)}",
            f"  next:    {describe_weights(nxt)}",
            f"  health:  {health['summary']}",
            f"  execution: {execution_arn}",
            *answer_lines(execution_arn, timeout_seconds, "rolls the route back to where the rollout started"),
        ]
    )
    return subject, body


def answer_lines(execution_arn: str, timeout_seconds: int, unanswered: str) -> list[str]:
    """How to answer an approval request, and what happens without an answer by its deadline."""
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout_seconds)).strftime("%Y-%m-%d %H:%M:%S UTC")
    return [
        "",
        "Answer with AWS credentials allowed to answer approvals:",
        f"  mesh-rollout approve {execution_arn} --comment 'why'",
        f"  mesh-rollout reject {execution_arn} --comment 'why'",
        f"No answer by {deadline} {unanswered}.",
    ]


def request_approval(
    sns: Any, topic_arn: str, cloudwatch: Any, ecs: Any, execution_arn: str, item: dict[str, Any]
) -> ApprovalRequested:
    """Publish what waits for an ECS deployment's approval (its state: plan, ecs, check): its step and the verdict its
    check has just given. (A weight shift's, a group's or a route alone's, is grouping.finish.request_approval.)"""
    from mesh_rollout.deploying.approval import approval_message as ecs_approval_message

    health: Mapping[str, Any] = {"summary": (item.get("check") or {}).get("summary", "not checked")}
    subject, body = ecs_approval_message(execution_arn, item["plan"], item["ecs"], health)
    with aws_errors("Publish approval request"):
        message_id = sns.publish(TopicArn=topic_arn, Subject=subject, Message=body)["MessageId"]
    return {"messageId": message_id, "health": health["summary"]}


def finish_record(state: Mapping[str, Any]) -> dict[str, Any]:
    """`locked` and the failure of a weight shift's end, from the execution's state as WeightShiftStateMachine hands it
    to FinishGroup (every Catch and Choice goes straight there): what the Catches wrote says how it ended.

    - no `lock`: AcquireGroupLocks failed, nothing to release or restore;
    - `finalizeFailure`: FinalizeLegs failed after every step was applied; the rollout fails as FinalizeFailed;
    - no `failure`: succeeded;
    - else the failure (what the rollback did is grouping.finish's to say: rollback_of, route_outcome)."""
    if "lock" not in state:
        return {"locked": False, "outcome": {"failure": state["failure"]}}
    if "finalizeFailure" in state:
        return {"locked": True, "outcome": {"failure": {"Error": "FinalizeFailed", "Cause": state["finalizeFailure"]["Cause"]}}}
    if "failure" not in state:
        return {"locked": True, "outcome": {}}
    return {"locked": True, "outcome": {"failure": state["failure"]}}


def outcome_text(outcome: dict[str, Any], route_label: str, weights_now: Weights | None) -> tuple[str, str, str]:
    """(status, error, cause) of a finished rollout, in words a person can act on."""
    error, message = readable_failure(outcome.get("failure"))
    where = (
        f"route {route_label} is at {describe_weights(weights_now)}"
        if weights_now is not None
        else f"route {route_label} could not be read"
    )
    if not error:
        return "SUCCEEDED", "", f"weight shift succeeded: {where}"
    if outcome.get("rollbackFailure"):
        rb_error, rb_message = readable_failure(outcome["rollbackFailure"])
        if rb_error == "RouteDrifted":
            return "FAILED", "RouteDrifted", f"{error}: {message}. Not rolled back: {rb_message}"
        return "FAILED", "RollbackFailed", f"{error}: {message}. Rollback failed ({rb_error}: {rb_message}); {where}"
    if error == "RouteDrifted":
        return "FAILED", error, f"{message}; {where}"
    if outcome.get("rollback"):
        service = f" {outcome['releaseRollback']['cause']}" if outcome.get("releaseRollback") else ""
        return "FAILED", error, f"{message}. Rolled back: {where}.{service}".rstrip(".")
    return "FAILED", error, f"{message}. Nothing was changed: {where}"


HALT_HELP = (
    "a run in plan mode that succeeds, or a new canary image (a release), resumes them; or delete the"
    " lock table's item 'halted:<lockId>'"
)


def notify(sns: Any, topic_arn: str, subject: str, message: str) -> str | None:
    """Publish; a notification never changes an outcome, so a failure (after botocore's retries) is returned
    as text for the caller to log and count, never raised."""
    try:
        with aws_errors("Publish"):
            sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)
    except MeshRolloutError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def finish_rollout(
    dynamodb: Any, table: str, sns: Any, topic_arn: str, execution_arn: str, state: dict[str, Any]
) -> RolloutFinished:
    """Release the route lock (if this execution may hold it), then tell people how the rollout ended.
    A step-mode rollback halts later step-mode runs towards the same canary (a schedule would otherwise
    send traffic to it again once its alarms clear); a successful run that held the lock clears a halt.
    The lock is released even when the execution thinks it never got it: an acquire whose answer was lost
    may have taken it (the conditional delete only removes this execution's own lock)."""
    try:
        weights_now: Weights | None = route_for(state["route"]).read().weights
    except Exception:  # the notification must go out even if the route cannot be read
        weights_now = None
    outcome = state.get("outcome", {})
    status, error, cause = outcome_text(outcome, state["route"]["label"], weights_now)
    if state.get("mode") == "increment" and outcome.get("rollback") and state.get("canary"):
        lock.halt(dynamodb, table, state["lockId"], state["canary"], f"{error}: {cause}", execution_arn)
        cause += f". Step-mode runs towards {state['canary']} are halted: {HALT_HELP}"
    elif status == "SUCCEEDED" and state.get("locked") and lock.halted(dynamodb, table, state["lockId"]):
        lock.clear_halt(dynamodb, table, state["lockId"])
        cause += "; the earlier halt of step-mode runs on this route is cleared"
    # "released before": a retried FinishGroup whose first try freed the lock; it was this execution's release
    released = lock.release(dynamodb, table, state["lockId"], execution_arn) != "not held"
    subject = f"mesh-rollout: {state['route']['label']} {'succeeded' if status == 'SUCCEEDED' else error}"
    not_sent = notify(sns, topic_arn, subject, f"{cause}\n\nexecution: {execution_arn}")
    finished: RolloutFinished = {
        "status": status,
        "error": error,
        "cause": cause,
        "lockReleased": released,
        "weights": weights_now,
        "notified": not_sent is None,
    }
    if not_sent:
        finished["notificationError"] = not_sent
    return finished


def register_release(ecs: Any, release: dict[str, Any]) -> ReleaseRevision:
    """The canary service's new revision (image only); the gate loop reads pollSeconds and maxChecks."""
    revision = release_revision(ecs, release["cluster"], release["service"], release["images"])
    return {**revision, "pollSeconds": release["pollSeconds"], "maxChecks": release["maxChecks"]}
