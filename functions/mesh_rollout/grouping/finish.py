"""A group's approval request and its end: one message per step for the whole group, one outcome naming each leg."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from mesh_rollout.aws import aws_errors
from mesh_rollout.errors import readable_failure
from mesh_rollout.grouping import locks
from mesh_rollout.grouping.legs import GroupVerdict, alone, read_legs, restored_text
from mesh_rollout.shifting.weight_shift import (
    ApprovalRequested,
    RolloutFinished,
    answer_lines,
    finish_record,
    finish_rollout,
    notify,
)
from mesh_rollout.shifting.weight_shift import approval_message as route_approval_message
from mesh_rollout.shifting.weights import describe_weights
from mesh_rollout.traffic import Weights, route_for


class GroupFinished(TypedDict):
    """FinishGroup's result for a group: the outcome, the locks released, every leg's weights now."""

    status: str
    error: str
    cause: str
    lockReleased: bool
    weights: dict[str, Weights | None]  # leg name -> its route's weights (None: could not be read)
    notified: bool
    notificationError: NotRequired[str]


def approval_message(execution_arn: str, item: Mapping[str, Any], verdict: GroupVerdict) -> tuple[str, str]:
    """Subject and body of a group step's approval request: every leg's weights now and next, and its verdict."""
    step = item["step"]
    states = {leg["name"]: leg for leg in verdict["legs"]}
    count = len(item["legs"]) + len(item.get("ecsLegs") or [])
    lines = [f"A group of {count} legs waits for approval of the step to {step['percent']}%.", ""]
    for leg in item["legs"]:
        own = leg["steps"][step["index"]]
        lines += [
            f"  leg {leg['name']} (route {leg['route']['label']})",
            f"    now:     {describe_weights(own['previous'])}",
            f"    next:    {describe_weights(own['weights'])}",
            f"    health:  {states[leg['name']]['summary']}",
        ]
    for leg in item.get("ecsLegs") or []:  # held by ECS at its last pause at or below each step
        targets, index, plan = leg["targets"], step["index"], leg["plan"]
        lines += [
            f"  leg {leg['name']} (ECS service {plan['cluster']}/{plan['service']}, {plan['strategy']})",
            f"    now:     {targets[index - 1] if index else 0}% on the new revision",
            f"    next:    {targets[index]}%",
            f"    health:  {states[leg['name']]['summary']}",
        ]
    lines += [
        f"  execution: {execution_arn}",
        *answer_lines(execution_arn, item["approvalTimeoutSeconds"], "rolls every leg back to where the group started"),
    ]
    subject = f"mesh-rollout: approve {step['percent']}% of group {item.get('group', '')}?"[:100]
    return subject, "\n".join(lines)


def request_approval(
    sns: Any, topic_arn: str, cloudwatch: Any, ecs: Any, execution_arn: str, item: Mapping[str, Any]
) -> ApprovalRequested:
    """Publish the group's approval request with a fresh verdict of every leg (a route alone's: its own message)."""
    step = item["step"]
    verdict = read_legs(item["legs"], cloudwatch, ecs, item["bakeSeconds"], 0, item.get("ecsLegs") or [], step.get("previous", 0))
    leg = alone(item["legs"])
    if leg is not None:
        own = leg["steps"][step["index"]]
        subject, body = route_approval_message(
            execution_arn, leg["route"], own["previous"], own["weights"], verdict, item["approvalTimeoutSeconds"]
        )
    else:
        subject, body = approval_message(execution_arn, item, verdict)
    with aws_errors("Publish approval request"):
        message_id = sns.publish(TopicArn=topic_arn, Subject=subject, Message=body)["MessageId"]
    return {"messageId": message_id, "health": verdict["summary"]}


def weights_now(legs: Sequence[Mapping[str, Any]]) -> dict[str, Weights | None]:
    """Each leg's route weights now; None for one that cannot be read (the notification goes out all the same)."""
    found: dict[str, Weights | None] = {}
    for leg in legs:
        try:
            found[leg["name"]] = route_for(dict(leg["route"])).read().weights
        except Exception:
            found[leg["name"]] = None
    return found


# an ECS leg's deployment after a rollback: ECS put the old revision back (or had not started one)
ROLLED_BACK = {"ROLLED_BACK", "STOPPED", "NOT_STARTED"}


def ecs_legs_now(state: Mapping[str, Any]) -> list[str]:
    """Where each ECS leg ended, from the group's last read of its deployment (the completion's or the rollback's),
    in words; an ECS leg never read is named by its service."""
    reads = {leg["name"]: leg for leg in (state.get("ecsDone") or {}).get("legs", [])}
    for wave in state.get("rolledBack") or []:
        reads.update({leg["name"]: leg for leg in (wave.get("ecs") or {}).get("legs", [])})
    said = []
    for leg in state.get("ecsLegs") or []:
        read = reads.get(leg["name"])
        plan = leg["plan"]
        if read is None:
            said.append(f"leg {leg['name']} (ECS service {plan['cluster']}/{plan['service']})")
        else:
            said.append(f"leg {leg['name']}: ECS deployment {read['state']} at {read['percent']}%")
    return said


def rollback_of(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the rollback (RollBackWaves: one record per wave, the last wave first) did: the route legs' results and
    every problem, each naming its leg: a wave whose restore failed, an ECS leg whose rollback could not be sent or
    read, or that ECS did not roll back (its deployment finished, or its rollback failed or was not read in time)."""
    waves = state.get("rolledBack")
    if waves is None:
        return None
    legs: list[Any] = []
    problems: list[str] = []
    if isinstance(waves, dict):  # RollBackWaves itself failed (its Catch): which legs are back is unknown
        error, message = readable_failure(waves)
        problems.append(f"{error}: {message}")
        waves = []
    if state.get("releaseRollbackFailure"):
        error, message = readable_failure(state["releaseRollbackFailure"])
        problems.append(f"{error}: {message}")
    for wave in waves:
        legs += (wave.get("restored") or {}).get("legs", [])
        for key in ("restoreFailure", "ecsFailure"):
            if wave.get(key):
                error, message = readable_failure(wave[key])
                problems.append(f"{error}: {message}")
        for read in (wave.get("ecs") or {}).get("legs", []):
            if read.get("state") not in ROLLED_BACK:
                problems.append(f"leg {read['name']}: ECS deployment {read.get('state')}, not rolled back")
    released = (state.get("releaseRollback") or {}).get("done", []) + (state.get("releaseRollback") or {}).get("kept", [])
    return {"legs": legs, "problems": problems, "releases": released}


def outcome_text(
    outcome: Mapping[str, Any], weights: Mapping[str, Weights | None], ecs_lines: Sequence[str] = ()
) -> tuple[str, str, str]:
    """(status, error, cause) of a finished group, every leg's weights named (an ECS leg: its deployment's state)."""
    where = "; ".join(
        [
            *(
                f"leg {name} at {describe_weights(now)}" if now is not None else f"leg {name} could not be read"
                for name, now in weights.items()
            ),
            *ecs_lines,
        ]
    )
    error, message = readable_failure(outcome.get("failure"))
    if not error:
        return "SUCCEEDED", "", f"group succeeded: {where}"
    rollback = outcome.get("rollback") or {}
    problems = list(rollback.get("problems", []))
    if outcome.get("rollbackFailure"):
        rb_error, rb_message = readable_failure(outcome["rollbackFailure"])
        problems.insert(0, f"{rb_error}: {rb_message}")
    if problems:
        return "FAILED", "RollbackFailed", f"{error}: {message}. Rollback failed ({'; '.join(problems)}); {where}"
    if error == "FinalizeFailed":  # every step passed: the legs stay where the steps left them
        return "FAILED", error, f"{message}; {where}"
    if "legs" in rollback:
        back = "; ".join([restored_text(rollback["legs"]), *ecs_lines, *rollback.get("releases", [])]).strip("; ")
        return "FAILED", error, f"{message}. Rolled back: {back}"
    return "FAILED", error, f"{message}. Nothing was changed: {where}"


class RouteFinished(RolloutFinished):
    """FinishGroup's result for a route alone: a route's outcome, and its steps as a route's output gives them."""

    steps: list[dict[str, Any]]


def route_outcome(state: Mapping[str, Any]) -> dict[str, Any]:
    """A route alone's outcome, as shifting.weight_shift.outcome_text reads it, from the group's state: its one leg's
    rollback (`rollback`, the leg's restore) or what stopped it (`rollbackFailure`: the rollback failed, or found the
    weights set by hand, RouteDrifted, or the lock taken, LockLost), and its release's undoing (`releaseRollback`)."""
    outcome = dict(finish_record(state)["outcome"])
    failure = outcome.get("failure")
    rolled = state.get("rolledBack")
    if not failure or rolled is None or "finalizeFailure" in state:
        return outcome
    waves = rolled if isinstance(rolled, list) else []
    wave = waves[0] if waves else {}
    problem: Any = None if waves else rolled  # RollBackWaves itself failed
    problem = problem or wave.get("restoreFailure") or state.get("releaseRollbackFailure")
    legs = (wave.get("restored") or {}).get("legs", [])
    if problem is None and legs and legs[0].get("problem"):
        error, _, message = str(legs[0]["problem"]).partition(": ")
        problem = {"Error": error, "Cause": message}
    if problem is not None:
        error, message = readable_failure(problem)
        if error == "RollbackFailed" and message.startswith("route not restored: "):  # restore_legs' words for its one
            error, _, cause = message.removeprefix("route not restored: ").partition(": ")  # leg: the leg's own error
            problem = {"Error": error, "Cause": cause}
        drifted = error == "RouteDrifted" == readable_failure(failure)[0]
        if not drifted:  # a shift stopped by weights set by hand leaves them: that is no failed rollback
            outcome["rollbackFailure"] = problem
        return outcome
    if legs:
        outcome["rollback"] = {"restored": legs[0]["restored"], "weights": legs[0]["weights"], "route": legs[0]["name"]}
    undone = state.get("releaseRollback") or {}
    said = [*undone.get("done", []), *undone.get("kept", [])]
    if said:
        outcome["releaseRollback"] = {"cause": "; ".join(said)}
    return outcome


def route_steps(applied: Any) -> list[dict[str, Any]]:
    """A route alone's steps as its output gives them: each step's percent, weights, decision and health."""
    steps = []
    for step in applied if isinstance(applied, list) else []:
        moved = [leg for wave in step.get("moved") or [] for leg in wave.get("routes") or []]  # MoveWaves'
        moved += (step.get("routesMoved") or {}).get("legs", [])  # MoveLegs': every route leg in one call
        weights = moved[0]["weights"] if moved else None
        steps.append(
            {"percent": step["percent"], "weights": weights, "decision": step.get("decision"), "health": step.get("health")}
        )
    return steps


def finish_route(
    dynamodb: Any, table: str, sns: Any, topic_arn: str, execution_arn: str, state: Mapping[str, Any]
) -> RouteFinished:
    """A route alone (the group of one leg it is): its lock released and its outcome told as a route's
    (shifting.weight_shift.finish_rollout: a step-mode rollback halts the canary's later ticks, a success clears it)."""
    record = {
        "route": state["route"],
        "lockId": state["lockId"],
        "mode": state["mode"],
        "canary": state["canary"],
        "locked": "lock" in state,
        "outcome": route_outcome(state),
    }
    finished = finish_rollout(dynamodb, table, sns, topic_arn, execution_arn, record)
    return {**finished, "steps": route_steps(state.get("applied"))}


def finish_group(
    dynamodb: Any, table: str, sns: Any, topic_arn: str, execution_arn: str, state: Mapping[str, Any]
) -> GroupFinished | RouteFinished:
    """Release every leg's lock (all the group may hold: an acquire whose answer was lost may have taken them), then
    tell people how the group ended, naming each leg; a route alone ends as a route (finish_route)."""
    if state.get("single"):
        return finish_route(dynamodb, table, sns, topic_arn, execution_arn, state)
    outcome = dict(finish_record(state)["outcome"])
    rollback = rollback_of(state)
    if rollback is not None:
        outcome["rollback"] = rollback
    weights = weights_now(state["legs"])
    status, error, cause = outcome_text(outcome, weights, ecs_legs_now(state))
    released = locks.release_all(dynamodb, table, list(state["lockIds"]), execution_arn)
    subject = f"mesh-rollout: group {state['group']} {'succeeded' if status == 'SUCCEEDED' else error}"
    not_sent = notify(sns, topic_arn, subject, f"{cause}\n\nexecution: {execution_arn}")
    finished: GroupFinished = {
        "status": status,
        "error": error,
        "cause": cause,
        "lockReleased": any(how != "not held" for how in released.values()),
        "weights": weights,
        "notified": not_sent is None,
    }
    if not_sent:
        finished["notificationError"] = not_sent
    return finished
