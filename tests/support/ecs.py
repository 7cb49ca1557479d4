"""ECS shapes more than one test module reads (plain helpers, no fixtures)."""

from __future__ import annotations

from typing import Any


def containers_by_name(task_definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A task definition's (or a RegisterTaskDefinition request's) container definitions, by name."""
    return {c["name"]: c for c in task_definition["containerDefinitions"]}


# --- PlanEcsDeployment's input: a deployment of the service checkout (cluster apps) --------------------------
DEPLOYMENT_ARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/apps/checkout/abc123"


def start(**extra: Any) -> dict[str, Any]:
    """The start-mode input (checkout:8), with `extra` fields."""
    return {"cluster": "apps", "service": "checkout", "taskDefinition": "checkout:8", **extra}
