"""Verdicts on an ECS deployment, from the service as DescribeServices returns it (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict, cast

DeploymentState = Literal["COMPLETED", "IN_PROGRESS", "FAILED"]

# The deployment gate's defaults (a rollout input may set its own), here rather than with the input model so that
# the handlers that deploy need not import pydantic (cold start, issue 13)
DEPLOYMENT_TIMEOUT_SECONDS = 1800  # ECS deployments of services with load balancers often take 10-20 minutes
DEPLOYMENT_POLL_SECONDS = 15


class DeploymentVerdict(TypedDict):
    """HealthVerdict as the state machines carry it (DeploymentHealth's `verdict`)."""

    state: DeploymentState
    reason: str
    deploymentId: str | None
    runningCount: int
    desiredCount: int
    failedTasks: int


@dataclass(frozen=True)
class HealthVerdict:
    """Where the deployment of one task definition stands, and why."""

    state: DeploymentState
    reason: str
    deploymentId: str | None = None
    runningCount: int = 0
    desiredCount: int = 0
    failedTasks: int = 0

    def as_dict(self) -> DeploymentVerdict:
        return cast(DeploymentVerdict, asdict(self))


def deployment_verdict(service: dict[str, Any], task_definition_arn: str) -> HealthVerdict:
    """COMPLETED, IN_PROGRESS or FAILED for the deployment that rolls out `task_definition_arn`."""
    deployments = service.get("deployments", [])
    ours = next((d for d in deployments if d.get("taskDefinition") == task_definition_arn), None)
    if ours is None:
        return HealthVerdict("FAILED", f"no deployment of {task_definition_arn}; the service was changed by someone else")
    counts = {
        "deploymentId": ours.get("id"),
        "runningCount": int(ours.get("runningCount", 0)),
        "desiredCount": int(ours.get("desiredCount", 0)),
        "failedTasks": int(ours.get("failedTasks", 0)),
    }
    if ours.get("status") != "PRIMARY":
        return HealthVerdict(
            "FAILED", f"deployment {ours.get('id')} is no longer PRIMARY (status {ours.get('status')})", **counts
        )
    rollout = ours.get("rolloutState")
    reason = ours.get("rolloutStateReason") or ""
    if rollout == "FAILED":
        return HealthVerdict("FAILED", reason or f"deployment {ours.get('id')} failed", **counts)
    if rollout == "COMPLETED":
        return HealthVerdict("COMPLETED", reason or f"deployment {ours.get('id')} completed", **counts)
    # Without a rolloutState (older API shapes), steady state is: ours is the only deployment and is full.
    steady = (
        rollout is None
        and len(deployments) == 1
        and counts["runningCount"] == counts["desiredCount"]
        and int(ours.get("pendingCount", 0)) == 0
    )
    if steady:
        return HealthVerdict("COMPLETED", f"deployment {ours.get('id')} reached steady state", **counts)
    return HealthVerdict(
        "IN_PROGRESS",
        reason or f"{counts['runningCount']}/{counts['desiredCount']} tasks running",
        **counts,
    )
