"""Deployment verdicts from DescribeServices shapes."""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.deployments import deployment_verdict
from mesh_rollout.onboarding.rollout import check_deployment

NEW = "arn:aws:ecs:us-west-2:123456789012:task-definition/taskB:2"
OLD = "arn:aws:ecs:us-west-2:123456789012:task-definition/taskB:1"


def service(*deployments: dict[str, Any]) -> dict[str, Any]:
    return {"deployments": list(deployments)}


def deployment(td: str, status: str = "PRIMARY", **fields: Any) -> dict[str, Any]:
    return {"id": f"ecs-svc/{td[-1]}", "taskDefinition": td, "status": status, "desiredCount": 2, **fields}


def test_completed_failed_and_in_progress() -> None:
    assert deployment_verdict(service(deployment(NEW, rolloutState="COMPLETED", runningCount=2)), NEW).state == "COMPLETED"
    failed = deployment_verdict(
        service(deployment(NEW, rolloutState="FAILED", rolloutStateReason="circuit breaker", failedTasks=3)), NEW
    )
    assert (failed.state, failed.reason, failed.failedTasks) == ("FAILED", "circuit breaker", 3)
    running = deployment_verdict(
        service(deployment(NEW, rolloutState="IN_PROGRESS", runningCount=1), deployment(OLD, "ACTIVE")), NEW
    )
    assert running.state == "IN_PROGRESS"


def test_replaced_or_missing_deployment_fails() -> None:
    assert deployment_verdict(service(deployment(OLD)), NEW).state == "FAILED"
    replaced = deployment_verdict(service(deployment(OLD), deployment(NEW, "ACTIVE")), NEW)
    assert (replaced.state, "no longer PRIMARY" in replaced.reason) == ("FAILED", True)


def test_without_rollout_state_steady_state_means_completed() -> None:
    assert deployment_verdict(service(deployment(NEW, runningCount=2, pendingCount=0)), NEW).state == "COMPLETED"
    assert deployment_verdict(service(deployment(NEW, runningCount=1, pendingCount=1)), NEW).state == "IN_PROGRESS"


class FakeEcs:
    def __init__(self, *deployments: dict[str, Any]) -> None:
        self.deployments = list(deployments)

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        return {"services": [{"status": "ACTIVE", "serviceName": services[0], "deployments": self.deployments}]}


def test_the_check_loop_is_bounded() -> None:
    ecs = FakeEcs(deployment(NEW, rolloutState="IN_PROGRESS"))
    assert check_deployment(ecs, "apps", "serviceB", NEW, checks=0, max_checks=2)["timedOut"] is False
    last = check_deployment(ecs, "apps", "serviceB", NEW, checks=1, max_checks=2)
    assert (last["checks"], last["timedOut"], last["verdict"]["state"]) == (2, True, "IN_PROGRESS")
