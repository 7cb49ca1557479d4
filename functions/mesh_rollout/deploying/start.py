"""StartEcsDeployment: start ECS's own deployment of the plan's revision, once, under the service's lock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mesh_rollout import clock
from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs_deployments import (
    STARTED,
    describe_deployment,
    list_deployments,
    revision_task_definitions,
    stop_for_rollback,
)
from mesh_rollout.deploying.records import EcsDeploymentRecord
from mesh_rollout.deploying.service_lock import lock_item, mark_starting, record_deployment
from mesh_rollout.errors import InvalidRolloutInput, LockLost, TransientAwsError


def epoch(value: Any) -> int:
    """Epoch seconds of a botocore timestamp (datetime) or a number."""
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value)


def first_wait_seconds(plan: dict[str, Any]) -> int:
    """The handler contract's first wait: the settle plus the first step's bake (ECS's scale-up comes first)."""
    return int(plan["settleSeconds"]) + int(plan["bakeSeconds"]["step"])


def deployments_of(
    ecs: Any, plan: dict[str, Any], task_definition: str, statuses: list[str] | None = None, after: Any = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """(the service's deployments, listed with `statuses` and created `after`, whose target revision runs
    `task_definition`, the other ones' ARNs)."""
    briefs = list_deployments(ecs, plan["cluster"], plan["service"], statuses, after)
    targets = revision_task_definitions(ecs, [b["targetServiceRevisionArn"] for b in briefs if b.get("targetServiceRevisionArn")])
    ours = [b for b in briefs if targets.get(b.get("targetServiceRevisionArn", "")) == task_definition]
    return ours, [b["serviceDeploymentArn"] for b in briefs if b not in ours]


def running_deployment(ecs: Any, plan: dict[str, Any], task_definition: str) -> tuple[dict[str, Any] | None, list[str]]:
    """(the IN_PROGRESS/PENDING deployment whose target revision runs `task_definition`, the other ones' ARNs)."""
    ours, others = deployments_of(ecs, plan, task_definition, STARTED)
    return (ours[0] if ours else None), others


# Lambda's clock and ECS's may differ a little: a deployment created up to this long before the mark is still ours
MARK_MARGIN_MS = 2000


def started_since(ecs: Any, plan: dict[str, Any], task_definition: str, mark_ms: int) -> dict[str, Any] | None:
    """The deployment of `task_definition` ECS created since this execution marked its start (whatever its status
    now), or None (the earlier try did not get to UpdateService, or its update did not start one)."""
    after = dt.datetime.fromtimestamp((mark_ms - MARK_MARGIN_MS) / 1000, dt.UTC)
    ours, _ = deployments_of(ecs, plan, task_definition, after=after)
    return ours[0] if ours else None


def record(arn: str, started_at: Any, plan: dict[str, Any], wait_seconds: int) -> EcsDeploymentRecord:
    started = epoch(started_at) if started_at is not None else int(clock.now().timestamp())
    return {
        "serviceDeploymentArn": arn,
        "startedAt": started,
        "continuedAt": started,
        "polls": 0,
        "waitSeconds": wait_seconds,
        "state": "RUNNING",
        "steps": [],
    }


def start_deployment(
    ecs: Any, dynamodb: Any, table: str, plan: dict[str, Any], owner: str, task_definition: str | None = None
) -> EcsDeploymentRecord:
    """UpdateService with the plan's task definition and deploymentConfiguration, unless a retry finds the
    deployment its lost call started (running, or ended since: the start marked on the lock item says since when);
    the deployment's ARN is recorded on the lock item. Gate mode: records only."""
    if plan["mode"] == "gate":
        arn = plan["serviceDeploymentArn"]
        deployment = describe_deployment(ecs, arn)
        record_deployment(dynamodb, table, plan["lockId"], owner, arn)
        return record(arn, deployment.get("startedAt") or deployment.get("createdAt"), plan, 0)  # a pause already waits
    wanted = task_definition or plan.get("taskDefinition")
    if not wanted:
        raise InvalidRolloutInput(
            "taskDefinition", "no task definition to deploy (neither the plan nor RegisterRelease gave one)"
        )
    ours, others = running_deployment(ecs, plan, wanted)
    if ours is None:
        if others:  # started by someone else since the plan looked: UpdateService would supersede it
            raise InvalidRolloutInput(
                "service", f"{plan['cluster']}/{plan['service']} is already deploying ({', '.join(others)}); nothing was started"
            )
        held = lock_item(dynamodb, table, plan["lockId"])
        if held is None or held["owner"] != owner:
            now = held["owner"] if held else "nobody"
            raise LockLost(f"{plan['lockId']}: this execution no longer holds the lock (now {now}); nothing was started")
        if held["startingAt"] is not None:  # an earlier try's UpdateService may have gone through: its deployment,
            ours = started_since(ecs, plan, wanted, held["startingAt"])  # even one ECS has ended (rolled back) since
    if ours is None:
        mark_starting(dynamodb, table, plan["lockId"], owner, int(clock.now().timestamp() * 1000))
        with aws_errors(f"UpdateService {plan['cluster']}/{plan['service']}"):
            ecs.update_service(
                cluster=plan["cluster"],
                service=plan["service"],
                taskDefinition=wanted,
                deploymentConfiguration=plan["deploymentConfiguration"],
            )
        ours, _ = running_deployment(ecs, plan, wanted)
        if ours is None:  # ListServiceDeployments has not caught up: the retry finds it and does not update again
            raise TransientAwsError(f"UpdateService {plan['cluster']}/{plan['service']}: its deployment is not listed yet")
    arn = ours["serviceDeploymentArn"]
    try:
        record_deployment(dynamodb, table, plan["lockId"], owner, arn)
    except LockLost as exc:  # the clean-up took over before it could know the deployment: roll it back here
        refused = stop_for_rollback(ecs, arn)
        raise LockLost(f"{exc}; the deployment was {'already finished: ' + refused if refused else 'rolled back'}") from exc
    return record(arn, ours.get("startedAt") or ours.get("createdAt"), plan, first_wait_seconds(plan))
