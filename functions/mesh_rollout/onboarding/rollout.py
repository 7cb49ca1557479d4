"""The steps of the MeshRolloutStateMachine, one function each, taking the clients they use."""

from __future__ import annotations

import math
from typing import Any

from mesh_rollout.aws.ecs import deployment_status, point_service_at
from mesh_rollout.onboarding.appmesh import ensure_resource, inventory
from mesh_rollout.onboarding.plan import build_requests, plan_rollout
from mesh_rollout.onboarding.services import check_target, prepare_revision


def validate_rollout(raw: Any, appmesh: Any, ecs: Any, default_image: str) -> dict[str, Any]:
    """Check the whole input (shape first, then references against AWS, read-only) and plan it."""
    spec, requests = build_requests(raw)
    plan = plan_rollout(spec, requests, inventory(appmesh, spec.mesh.meshName))
    for index, target in enumerate(plan["ecsServices"]):
        check_target(ecs, target, default_image, f"ecsServices[{index}]")
        target["maxDeploymentChecks"] = math.ceil(target["deploymentTimeoutSeconds"] / target["deploymentPollSeconds"])
    return plan


def ensure_mesh_or_service(appmesh: Any, kind: str, request: dict[str, Any], placeholder: bool) -> dict[str, Any]:
    """Converge the mesh or a virtual service; a placeholder only makes sure the service exists."""
    if placeholder:
        request = {**request, "spec": {}}
    return ensure_resource(appmesh, kind, request, create_only=placeholder)


def register_task_definition(ecs: Any, target: dict[str, Any], index: int, default_image: str) -> dict[str, Any]:
    result = prepare_revision(ecs, target, default_image, f"ecsServices[{index}]")
    result["maxChecks"] = target.get("maxDeploymentChecks", 120)
    result["pollSeconds"] = target.get("deploymentPollSeconds", 15)
    return result


def check_deployment(ecs: Any, cluster: str, service: str, task_definition: str, checks: int, max_checks: int) -> dict[str, Any]:
    """The deployment verdict, counting checks so the Wait loop is bounded."""
    verdict = deployment_status(ecs, cluster, service, task_definition)
    checks += 1
    timed_out = verdict.state == "IN_PROGRESS" and checks >= max_checks
    return {"verdict": verdict.as_dict(), "checks": checks, "timedOut": timed_out}


def short_name(task_definition_arn: str) -> str:
    """'arn:...:task-definition/taskB:3' -> 'taskB:3'."""
    return task_definition_arn.rsplit("/", 1)[-1]


def roll_back_service(
    ecs: Any, cluster: str, service: str, previous: str, failed: str, verdict: dict[str, Any]
) -> dict[str, Any]:
    """Put the service back on its previous revision and describe, for a person, what happened."""
    point_service_at(ecs, cluster, service, previous)
    outcome = "failed" if verdict.get("state") == "FAILED" else "did not complete in time"
    cause = (
        f"{cluster}/{service}: the deployment of {short_name(failed)} {outcome} ({verdict.get('reason', 'no reason given')}); "
        f"the service was put back on {short_name(previous)}"
    )
    return {"cluster": cluster, "service": service, "rolledBackTo": previous, "cause": cause}
