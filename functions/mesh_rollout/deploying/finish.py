"""FinishEcsDeployment: on every way out, release the service's lock and publish one notice of how it ended."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from mesh_rollout.errors import (
    DeploymentFailed,
    DeploymentSuperseded,
    DeploymentTimedOut,
    EcsRolledBack,
    RollbackFailed,
    readable_failure,
)
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.weight_shift import notify
from mesh_rollout.shifting.weights import describe_weights

# The states in which ECS's deployment ended without succeeding (or is still going at the end): {state: (ECS's final
# status in words, for the cause; the error the outcome is named when the execution names none, as ECS acted by
# itself: an alarm, the circuit breaker, a pause's timeout)}
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html)
ECS_ENDED = {
    "ROLLED_BACK": ("ECS rolled back", EcsRolledBack.__name__),
    "ROLLBACK_FAILED": ("ECS's rollback failed", RollbackFailed.__name__),
    "SUPERSEDED": ("ECS stopped it for a newer deployment", DeploymentSuperseded.__name__),
    "STOPPED": ("ECS stopped it", EcsRolledBack.__name__),
    "ROLLING_BACK": ("ECS is rolling back", EcsRolledBack.__name__),
    "TIMED_OUT": ("still running at ECS", DeploymentTimedOut.__name__),
}


class EcsDeploymentFinished(TypedDict):
    """FinishEcsDeployment's result, the contract's record: the outcome, its error and cause, what ECS said, the steps."""

    outcome: str  # SUCCEEDED, ROLLED_BACK, SUPERSEDED or FAILED
    error: str
    cause: str
    service: str
    serviceDeploymentArn: str | None
    strategy: str | None
    steps: list[dict[str, Any]]
    ecsStatus: str | None
    ecsStatusReason: str | None
    lockReleased: bool
    notified: bool
    notificationError: NotRequired[str]


def _percent(value: Any) -> str:
    return "?" if value is None else f"{value} %"


def step_head(step: dict[str, Any]) -> str:
    """'step 40 % (PRE_PRODUCTION_TRAFFIC_SHIFT): <the step's verdict, or why it was rolled back>'."""
    verdict = step.get("verdict") or step.get("reason") or "no verdict"
    return f"step {_percent(step.get('percent'))} ({step.get('stage')}): {verdict}"


def step_line(step: dict[str, Any]) -> str:
    weights = describe_weights(step["weights"]) if step.get("weights") else "weights unknown"
    return f"{step_head(step)}; {weights}; {step.get('action')}"


def failing_step(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((s for s in reversed(steps) if s.get("action") == "ROLLBACK"), None)


def outcome_of(state: dict[str, Any]) -> tuple[str, str, str]:
    """(outcome, error, cause): SUCCEEDED, ROLLED_BACK, SUPERSEDED or FAILED, the named error, a readable cause
    naming the step, its verdict and ECS's own status reason."""
    ecs = state.get("ecs") or {}
    given = state.get("outcome") or {}
    error, cause = readable_failure({"Error": given.get("error") or "", "Cause": given.get("cause") or ""})
    ecs_state = ecs.get("state")
    if given.get("status") == "SUCCEEDED" and not error and ecs_state in (None, "SUCCESSFUL"):
        return "SUCCEEDED", "", "ECS's deployment succeeded" + (f": {ecs['statusReason']}" if ecs.get("statusReason") else "")
    if ecs_state == "ROLLBACK_FAILED" and error not in ("", RollbackFailed.__name__):
        cause, error = f"{error}: {cause}".rstrip(": "), RollbackFailed.__name__
    error = error or ECS_ENDED.get(str(ecs_state), ("", DeploymentFailed.__name__))[1]
    step = failing_step(ecs.get("steps", []))
    head = step_head(step) if step is not None else ""
    said = str((step or {}).get("verdict") or "")  # the ASL's CanaryUnhealthy cause repeats the verdict
    parts = [head] if head and (not cause or cause in head or (said and said in cause)) else [p for p in (head, cause) if p]
    if ecs_state in ECS_ENDED:
        reason = ecs.get("statusReason") or ecs.get("rollbackReason") or "no status reason"
        if ecs_state == "SUPERSEDED" and ecs.get("supersededBy"):
            reason += f" (newer deployment {ecs['supersededBy']}; left alone)"
        parts.append(f"{ECS_ENDED[str(ecs_state)][0]}: {reason}")
    outcome = {"ROLLED_BACK": "ROLLED_BACK", "SUPERSEDED": "SUPERSEDED"}.get(str(ecs_state), "FAILED")
    return outcome, error, "; ".join(parts) or "the deployment did not finish"


def notice(state: dict[str, Any], outcome: str, error: str, cause: str, execution_arn: str) -> tuple[str, str]:
    """Subject and body: the service, strategy, each step (percent, verdict, weights), ECS's status and reason."""
    plan, ecs = state.get("plan") or {}, state.get("ecs") or {}
    service = f"{plan.get('cluster', '?')}/{plan.get('service', '?')}"
    subject = f"mesh-rollout: ECS {service} {'succeeded' if outcome == 'SUCCEEDED' else error}"
    lines = [
        f"ECS deployment of {service} ({plan.get('strategy', '?')}): {outcome}" + (f", {error}" if error else ""),
        cause,
        "",
        *(f"  {step_line(step)}" for step in ecs.get("steps", [])),
        f"  ECS status: {ecs.get('status', 'unknown')}" + (f": {ecs['statusReason']}" if ecs.get("statusReason") else ""),
        f"  deployment: {ecs.get('serviceDeploymentArn') or plan.get('serviceDeploymentArn') or 'none started'}",
        f"  execution:  {execution_arn}",
    ]
    return subject, "\n".join(lines)


def finish(
    dynamodb: Any, table: str, sns: Any, topic_arn: str, execution_arn: str, state: dict[str, Any]
) -> EcsDeploymentFinished:
    """Release the lock (even when the execution thinks it never got it: an acquire whose answer was lost may have
    taken it; the release only removes this execution's own), publish one notice, return the contract's record."""
    plan, ecs = state.get("plan") or {}, state.get("ecs") or {}
    outcome, error, cause = outcome_of(state)
    released = bool(plan.get("lockId")) and lock.release(dynamodb, table, plan["lockId"], execution_arn) != "not held"
    subject, body = notice(state, outcome, error, cause, execution_arn)
    not_sent = notify(sns, topic_arn, subject, body)
    finished: EcsDeploymentFinished = {
        "outcome": outcome,
        "error": error,
        "cause": cause,
        "service": f"{plan.get('cluster', '?')}/{plan.get('service', '?')}",
        "serviceDeploymentArn": ecs.get("serviceDeploymentArn") or plan.get("serviceDeploymentArn"),
        "strategy": plan.get("strategy"),
        "steps": ecs.get("steps", []),
        "ecsStatus": ecs.get("status"),
        "ecsStatusReason": ecs.get("statusReason"),
        "lockReleased": released,
        "notified": not_sent is None,
    }
    if not_sent:
        finished["notificationError"] = not_sent
    return finished
