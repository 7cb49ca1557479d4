"""The steps of the WeightShiftStateMachine, one function each, taking the clients they use."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, is_not_found
from mesh_rollout.aws.ecs import describe_service, describe_task_definition
from mesh_rollout.errors import (
    LAMBDA_SERVICE_ERRORS,
    InvalidRolloutInput,
    LambdaServiceError,
    LockLost,
    MeshResourceNotFound,
    MeshRolloutError,
    UnknownReference,
    WeightsNotApplied,
)
from mesh_rollout.parsing import parse_input
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.canary import (
    WeightShiftSpec,
    canary_percent,
    check_route_weights,
    check_spec,
    describe_weights,
    expect_weights,
    is_retired,
    lock_seconds,
    pending_steps,
    weights_at,
)
from mesh_rollout.shifting.gate import health_verdict
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.release import release_revision, wanted_images
from mesh_rollout.traffic import RouteState, WeightedRoute, Weights, route_for


def route_reference(spec: WeightShiftSpec) -> dict[str, str]:
    return {
        "backend": spec.backend,
        "meshName": spec.meshName,
        "virtualRouterName": spec.virtualRouterName,
        "routeName": spec.routeName,
        "label": f"{spec.meshName}/{spec.virtualRouterName}/{spec.routeName}",
    }


def _check_world(spec: WeightShiftSpec, route: WeightedRoute, current: Weights, cloudwatch: Any, ecs: Any) -> None:
    """Read-only: the nodes, alarms and ECS services the input names exist."""
    retired = is_retired(current, spec.stable, spec.canary)
    for field in ("stable", "canary"):
        name = getattr(spec, field)
        if not (retired and field == "stable") and not route.target_exists(name):
            raise UnknownReference(field, f"virtual node {name!r} does not exist in mesh {spec.meshName!r}")
    if spec.healthGate.alarmNames:
        with aws_errors("DescribeAlarms"):
            response = cloudwatch.describe_alarms(
                AlarmNames=list(spec.healthGate.alarmNames), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        known = {a["AlarmName"] for a in response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])}
        for index, name in enumerate(spec.healthGate.alarmNames):
            if name not in known:
                raise UnknownReference(f"healthGate.alarmNames[{index}]", f"CloudWatch alarm {name!r} does not exist")
    if spec.canaryEcsService is not None:
        describe_service(ecs, spec.canaryEcsService.cluster, spec.canaryEcsService.service, "canaryEcsService")
    for index, ref in enumerate(spec.healthGate.ecsServices):
        describe_service(ecs, ref.cluster, ref.service, f"healthGate.ecsServices[{index}]")
    if spec.finalize.stableEcsService is not None:
        ref = spec.finalize.stableEcsService
        describe_service(ecs, ref.cluster, ref.service, "finalize.stableEcsService")


def _finalize_pending(spec: WeightShiftSpec, route: WeightedRoute, current: Weights, ecs: Any) -> bool:
    settings = spec.finalize
    if settings.removeStableTarget and spec.stable in current:
        return True
    if settings.deleteStableNode and route.target_exists(spec.stable):
        return True
    if settings.scaleStableServiceToZero and settings.stableEcsService is not None:
        ref = settings.stableEcsService
        return int(describe_service(ecs, ref.cluster, ref.service, "finalize.stableEcsService").get("desiredCount", 0)) > 0
    return False


def plan_release(spec: WeightShiftSpec, ecs: Any) -> dict[str, Any] | None:
    """The image release to do before the steps (read-only), or None."""
    if spec.canaryEcsService is None or (spec.imageDefinitions is None and spec.canaryImage is None):
        return None
    ref = spec.canaryEcsService
    current, _ = describe_task_definition(
        ecs, describe_service(ecs, ref.cluster, ref.service, "canaryEcsService")["taskDefinition"]
    )
    definitions = [d.model_dump() for d in spec.imageDefinitions] if spec.imageDefinitions is not None else None
    images = wanted_images(current, definitions, spec.canaryImage, spec.canaryContainer)
    running = {c["name"]: c.get("image") for c in current["containerDefinitions"]}
    return {
        "cluster": ref.cluster,
        "service": ref.service,
        "images": images,
        "pending": any(running.get(name) != image for name, image in images.items()),
        "pollSeconds": spec.deploymentPollSeconds,
        "maxChecks": -(-spec.deploymentTimeoutSeconds // spec.deploymentPollSeconds),
    }


def pre_step_gate(spec: WeightShiftSpec, current: Weights) -> dict[str, Any]:
    """The gate a step-mode tick passes before it moves the canary. A canary without traffic has no
    request metrics yet (they would only ever be missing), so it is judged on alarms and ECS alone."""
    gate = spec.healthGate.model_dump(mode="json")
    return gate if current.get(spec.canary, 0) > 0 else {**gate, "metrics": []}


def plan_weight_shift(
    raw: Any, cloudwatch: Any, ecs: Any, halt_of: Callable[[str], dict[str, str] | None] = lambda lock_id: None
) -> dict[str, Any]:
    """Check the whole input (shape, then the route, nodes, alarms and services, read-only) and plan it.
    A step-mode tick towards a canary whose last step-mode run rolled back (`halt_of(lockId)`, read only
    once the input is valid) does nothing (HALTED)."""
    spec = parse_input(raw, WeightShiftSpec)
    check_spec(spec)
    if spec.canaryEcsService is not None and not spec.healthGate.ecsServices:  # gate on the canary's service
        spec = spec.model_copy(update={"healthGate": spec.healthGate.model_copy(update={"ecsServices": [spec.canaryEcsService]})})
    reference = route_reference(spec)
    route = route_for(reference)
    try:
        current = route.read().weights
    except MeshResourceNotFound:
        route.check_exists()  # UnknownReference naming what is missing: the mesh, the router or the route
        raise

    check_route_weights(spec, current)
    _check_world(spec, route, current, cloudwatch, ecs)
    steps = pending_steps(spec, current)
    at = canary_percent(current, spec.stable, spec.canary)
    reaches_full = is_retired(current, spec.stable, spec.canary) or (
        (steps[-1]["percent"] == 100 and spec.mode == "plan") if steps else at == 100
    )
    finalize = reaches_full and _finalize_pending(spec, route, current, ecs)
    release = plan_release(spec, ecs) or {"pending": False}
    if release["pending"] and not steps:
        raise InvalidRolloutInput(
            "canary",
            f"{spec.canary!r} already carries all of the traffic {spec.stable!r} shared with it: a new image would go"
            " live with no step, bake or gate. Release to the node without traffic (swap stable and canary)",
        )
    lock_id = f"{spec.backend}:{reference['label']}"
    stopped = halt_of(lock_id) if spec.mode == "increment" else None
    halted = stopped is not None and stopped["canary"] == spec.canary and not release["pending"]
    idle = (
        {"status": "HALTED", "reason": f"{stopped['reason']} (halted by {stopped['haltedBy']})"}
        if halted and stopped
        else {"status": "NOTHING_TO_DO", "reason": "already at the end of the plan"}
    )
    return {
        "route": reference,
        "stable": spec.stable,
        "canary": spec.canary,
        "mode": spec.mode,
        "whenLocked": spec.whenLocked,
        "lockId": lock_id,
        "lockSeconds": lock_seconds(spec, steps) + (spec.deploymentTimeoutSeconds if release["pending"] else 0),
        "fromPercent": at,
        "plannedWeights": current,
        "steps": steps,
        "bakeSeconds": spec.bakeSeconds,
        "healthGate": spec.healthGate.model_dump(mode="json"),
        "preStepGate": pre_step_gate(spec, current),
        "approvalTimeoutSeconds": spec.approval.timeoutSeconds if spec.approval else 0,
        "finalize": {**spec.finalize.model_dump(mode="json"), "pending": finalize},
        "release": release,
        "gateFirst": spec.mode == "increment" and bool(steps or finalize),
        "nothingToDo": halted or (not steps and not finalize and not release["pending"]),
        "idle": idle,
    }


def acquire_lock(dynamodb: Any, table: str, lock_id: str, owner: str, seconds: int) -> dict[str, Any]:
    return lock.acquire(dynamodb, table, lock_id, owner, seconds)


def take_snapshot(route_ref: dict[str, Any], planned: Weights) -> dict[str, Any]:
    """Record the route before the first change; it must still be what the plan was made from."""
    state = route_for(route_ref).read()
    expect_weights(state.weights, [planned], route_ref["label"])
    return {"weights": state.weights, **state.snapshot}


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


def previous_weights(base: Weights, stable: str, canary: str, step: dict[str, Any]) -> Weights:
    """What the route holds before `step`: the snapshot for the first step, else the step before's weights."""
    if step["previousPercent"] == canary_percent(base, stable, canary):
        return base
    return weights_at(base, stable, canary, step["previousPercent"])


def apply_step(
    route_ref: dict[str, Any], snapshot: dict[str, Any], stable: str, canary: str, step: dict[str, Any], fence: LockFence
) -> dict[str, Any]:
    """Move the canary to step['percent'] if the route still holds what this rollout last wrote."""
    route = route_for(route_ref)
    base: Weights = snapshot["weights"]
    target = weights_at(base, stable, canary, step["percent"])
    previous = previous_weights(base, stable, canary, step)
    current = route.read()
    if current.weights == target:  # a retried call whose write went through
        return {"percent": step["percent"], "weights": target, "changed": False, "version": current.version}
    expect_weights(current.weights, [previous], route.label)
    after = _write_verified(route, target, current, fence, base)
    return {"percent": step["percent"], "weights": target, "changed": True, "version": after.version}


def retired_weights(base: Weights, stable: str, canary: str) -> Weights:
    """The weights finalize leaves when it removes the stable target (canary at 100%)."""
    return {k: v for k, v in weights_at(base, stable, canary, 100).items() if k != stable}


def weights_written(
    base: Weights, stable: str, canary: str, steps: list[dict[str, Any]], finalize: dict[str, Any] | None
) -> list[Weights]:
    """Every weight set this rollout could have left on the route: the snapshot, each step, and finalize's."""
    ours = [base, *(weights_at(base, stable, canary, s["percent"]) for s in steps)]
    if finalize and finalize.get("pending") and finalize.get("removeStableTarget"):
        ours.append(retired_weights(base, stable, canary))
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
) -> dict[str, Any]:
    """Undo this rollout: the snapshot's weighted targets (plan mode), or all traffic to stable (step mode).
    Only the weights are put back: this rollout changed nothing else, so anything else that differs from the
    snapshot (a retry policy, a timeout) was changed by someone else and stays."""
    route = route_for(route_ref)
    base: Weights = snapshot["weights"]
    current = route.read()
    target = weights_at(base, stable, canary, 0) if mode == "increment" else base
    if current.weights == target:
        return {"restored": False, "weights": target, "route": route.label}
    expect_weights(current.weights, [*weights_written(base, stable, canary, steps, finalize), target], route.label)
    after = _write_verified(route, target, current, fence, base)
    return {"restored": True, "weights": after.weights, "route": route.label}


def finalize_canary(
    route_ref: dict[str, Any],
    snapshot: dict[str, Any],
    stable: str,
    canary: str,
    settings: dict[str, Any],
    clients: tuple[Any, Any],
    fence: LockFence,
) -> dict[str, Any]:
    """Retire the stable version once the canary holds everything: target, then service, then node.
    `clients` are App Mesh and ECS."""
    appmesh, ecs = clients
    route = route_for(route_ref)
    done: list[str] = []
    state = route.read()
    current = state.weights
    if settings.get("removeStableTarget") and stable in current:
        expect_weights(current, [weights_at(current, stable, canary, 100)], route.label)
        retired = retired_weights(current, stable, canary)
        current = _write_verified(route, retired, state, fence, snapshot["weights"]).weights
        done.append(f"removed {stable} from route {route.label}")
    service = settings.get("stableEcsService")
    if settings.get("scaleStableServiceToZero") and service:
        found = describe_service(ecs, service["cluster"], service["service"], "finalize.stableEcsService")
        if int(found.get("desiredCount", 0)) > 0:
            with aws_errors(f"UpdateService {service['cluster']}/{service['service']}"):
                ecs.update_service(cluster=service["cluster"], service=service["service"], desiredCount=0)
            done.append(f"scaled ECS service {service['cluster']}/{service['service']} to 0")
    if settings.get("deleteStableNode"):
        try:
            appmesh.delete_virtual_node(meshName=route_ref["meshName"], virtualNodeName=stable)
            done.append(f"deleted virtual node {stable}")
        except ClientError as exc:
            if not is_not_found(exc):
                raise classify(exc, f"DeleteVirtualNode {stable}") from exc
    return {"done": done, "weights": current}


def approval_message(
    execution_arn: str, route_ref: dict[str, Any], now: Weights, nxt: Weights, health: dict[str, Any], timeout_seconds: int
) -> tuple[str, str]:
    """Subject and body of the approval request. No task token: approvers answer with the CLI."""
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout_seconds)).strftime("%Y-%m-%d %H:%M:%S UTC")
    subject = f"mesh-rollout: approve {route_ref['label']}?"[:100]
    body = "\n".join(
        [
            f"A weight shift on route {route_ref['label']} waits for approval.",
            "",
            f"  now:     {describe_weights(now)}",
            f"  next:    {describe_weights(nxt)}",
            f"  health:  {health['summary']}",
            f"  execution: {execution_arn}",
            "",
            "Answer with AWS credentials allowed to answer approvals:",
            f"  mesh-rollout approve {execution_arn} --comment 'why'",
            f"  mesh-rollout reject {execution_arn} --comment 'why'",
            f"No answer by {deadline} rolls the route back to where the rollout started.",
        ]
    )
    return subject, body


def request_approval(
    sns: Any, topic_arn: str, cloudwatch: Any, ecs: Any, execution_arn: str, item: dict[str, Any]
) -> dict[str, Any]:
    """Publish what waits for approval: route, current -> next weights and a fresh health summary."""
    base = item["snapshot"]["weights"]
    now = previous_weights(base, item["stable"], item["canary"], item["step"])  # ApplyStep refuses any other
    nxt = weights_at(base, item["stable"], item["canary"], item["step"]["percent"])
    health = health_verdict(item["healthGate"], cloudwatch, ecs, item["bakeSeconds"], 0)
    subject, body = approval_message(execution_arn, item["route"], now, nxt, health, item["approvalTimeoutSeconds"])
    with aws_errors("Publish approval request"):
        message_id = sns.publish(TopicArn=topic_arn, Subject=subject, Message=body)["MessageId"]
    return {"messageId": message_id, "health": health["summary"]}


def readable_failure(failure: dict[str, Any] | None) -> tuple[str, str]:
    """(error, message) of a Catch result, whose Cause is a Lambda error document or plain text. A Lambda
    service error that outlasted the retries (`Lambda.TooManyRequestsException` ...) gets our own name."""
    if not failure:
        return "", ""
    error, cause = str(failure.get("Error", "")), str(failure.get("Cause") or "")
    try:
        document = json.loads(cause)
    except ValueError:
        document = None
    if isinstance(document, dict) and "errorMessage" in document:
        cause = str(document["errorMessage"])
    if error in LAMBDA_SERVICE_ERRORS:
        return LambdaServiceError.__name__, f"{error}: {cause}"
    return error, cause


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
) -> dict[str, Any]:
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
    released = lock.release(dynamodb, table, state["lockId"], execution_arn)
    subject = f"mesh-rollout: {state['route']['label']} {'succeeded' if status == 'SUCCEEDED' else error}"
    not_sent = notify(sns, topic_arn, subject, f"{cause}\n\nexecution: {execution_arn}")
    return {
        "status": status,
        "error": error,
        "cause": cause,
        "lockReleased": released,
        "weights": weights_now,
        "notified": not_sent is None,
        **({"notificationError": not_sent} if not_sent else {}),
    }


def register_release(ecs: Any, release: dict[str, Any]) -> dict[str, Any]:
    """The canary service's new revision (image only); the gate loop reads pollSeconds and maxChecks."""
    revision = release_revision(ecs, release["cluster"], release["service"], release["images"])
    return {**revision, "pollSeconds": release["pollSeconds"], "maxChecks": release["maxChecks"]}
