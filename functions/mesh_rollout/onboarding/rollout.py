"""The steps of the MeshRolloutStateMachine, one function each, taking the clients they use."""

from __future__ import annotations

import json
import math
from typing import Any, Required, TypedDict, cast

from mesh_rollout.aws.deployments import DEPLOYMENT_POLL_SECONDS, DEPLOYMENT_TIMEOUT_SECONDS, DeploymentVerdict
from mesh_rollout.aws.ecs import RolloutRevision, deployment_status, point_service_at, short_name
from mesh_rollout.errors import readable_failure
from mesh_rollout.onboarding.appmesh import MeshResourceEnsured, ensure_resource, inventory
from mesh_rollout.onboarding.plan import build_requests, plan_rollout
from mesh_rollout.onboarding.services import check_target, prepare_revision

PLANNED_SECTIONS = ("virtualNodes", "virtualRouters", "routes", "virtualServices", "ecsServices")


class RolloutPlan(TypedDict):
    """ValidateRollout's result, the MeshRolloutStateMachine's state from there on: each section's item positions."""

    meshName: str
    meshRef: dict[str, str]
    mesh: dict[str, Any]
    virtualServicePlaceholders: list[dict[str, Any]]
    virtualNodes: list[int]
    virtualRouters: list[int]
    routes: list[int]
    virtualServices: list[int]
    ecsServices: list[int]
    maxConcurrentDeployments: int


class DeploymentCheck(TypedDict):
    """DeploymentHealth's result: the deployment's verdict, the checks so far, and whether the gate has timed out."""

    verdict: DeploymentVerdict
    checks: int
    timedOut: bool


class ServiceRolledBack(TypedDict):
    """RollbackService's result: where the service is now, and what happened in words (the execution's cause)."""

    cluster: str
    service: str
    rolledBackTo: str
    cause: str


class EcsOutcome(TypedDict, total=False):
    """FinishMeshRollout's result: whether any service failed; if one did, the first one's error and a cause."""

    failed: Required[bool]
    services: Required[dict[str, int]]  # updated, unchanged, not started, failed: how many services
    error: str
    cause: str


def validate_rollout(raw: Any, appmesh: Any, ecs: Any, default_image: str) -> RolloutPlan:
    """Check the whole input (shape first, then references against AWS, read-only) and plan it.

    The plan is what the state machine carries from here on, so it stays small whatever the mesh's size: the
    positions of the items to converge in each section of the execution's input (the state machine reads each item
    from there), never the items themselves. Only the mesh request and the placeholders, both small, are whole."""
    spec, requests = build_requests(raw)
    plan = plan_rollout(spec, requests, inventory(appmesh, spec.mesh.meshName))
    for index, target in enumerate(plan["ecsServices"]):
        check_target(ecs, target, default_image, f"ecsServices[{index}]")
    positions = {
        "meshName": plan["meshName"],
        "meshRef": {"meshName": plan["meshName"]},
        "mesh": plan["mesh"],
        "virtualServicePlaceholders": plan["virtualServicePlaceholders"],
        **{section: list(range(len(plan[section]))) for section in PLANNED_SECTIONS},
        "maxConcurrentDeployments": spec.maxConcurrentDeployments,
    }
    return cast(RolloutPlan, positions)


def ensure_mesh_or_service(appmesh: Any, kind: str, request: dict[str, Any], placeholder: bool) -> MeshResourceEnsured:
    """Converge the mesh or a virtual service; a placeholder only makes sure the service exists."""
    if placeholder:
        request = {**request, "spec": {}}
    return ensure_resource(appmesh, kind, request, create_only=placeholder)


def register_task_definition(ecs: Any, target: dict[str, Any], index: int, default_image: str) -> RolloutRevision:
    revision = prepare_revision(ecs, target, default_image, f"ecsServices[{index}]")
    poll = target.get("deploymentPollSeconds", DEPLOYMENT_POLL_SECONDS)
    return {
        **revision,
        "maxChecks": math.ceil(target.get("deploymentTimeoutSeconds", DEPLOYMENT_TIMEOUT_SECONDS) / poll),
        "pollSeconds": poll,
        "revision": short_name(revision["taskDefinition"]),  # 'taskB:2', what the rollout's result names
        "vpcLatticeConfigurations": None,  # UpdateService leaves the service's Lattice attachments as they are
        "previousVpcLatticeConfigurations": None,  # and so does the rollback
    }


def check_deployment(ecs: Any, cluster: str, service: str, task_definition: str, checks: int, max_checks: int) -> DeploymentCheck:
    """The deployment verdict, counting checks so the Wait loop is bounded."""
    verdict = deployment_status(ecs, cluster, service, task_definition)
    checks += 1
    timed_out = verdict.state == "IN_PROGRESS" and checks >= max_checks
    return {"verdict": verdict.as_dict(), "checks": checks, "timedOut": timed_out}


def roll_back_service(
    ecs: Any,
    cluster: str,
    service: str,
    previous: str,
    failed: str,
    verdict: dict[str, Any],
    previous_lattice: list[dict[str, Any]] | None = None,
) -> ServiceRolledBack:
    """Put the service back on its previous revision (no call if it is on it) and, given `previous_lattice`, on the
    `vpcLatticeConfigurations` it had before ([] detaches it), and describe, for a person, what happened. `verdict`
    is the deployment gate's, or what a Catch hands on when UpdateService failed for good (its Error and Cause):
    that update may have landed all the same."""
    moved = point_service_at(ecs, cluster, service, previous, previous_lattice)["updated"]
    if "Error" in verdict:
        what = f"the update to {short_name(failed)} failed ({caught_error(verdict)})"
        where = "the service was put back on" if moved else "the service is still on"
    else:
        outcome = "failed" if verdict.get("state") == "FAILED" else "did not complete in time"
        what = f"the deployment of {short_name(failed)} {outcome} ({verdict.get('reason', 'no reason given')})"
        where = "the service was put back on"
    cause = f"{cluster}/{service}: {what}; {where} {short_name(previous)}"
    return {"cluster": cluster, "service": service, "rolledBackTo": previous, "cause": cause}


def caught_error(caught: dict[str, Any]) -> str:
    """'Error: message' of a Catch's result, whose Cause is a Lambda error document or plain text."""
    error, cause = readable_failure(caught)
    error = error or "States.TaskFailed"
    return f"{error}: {cause}" if cause else error


# --- the ECS services' outcome, once every service's execution has ended ---------------------------------------

LISTED_PER_GROUP = 25  # a Fail state's cause holds at most 32,768 characters; the execution's history has them all
GROUPS = (  # {destination}: where an unchanged service already is (the mesh, VPC Lattice)
    ("updated", "updated (on their new revision)"),
    ("unchanged", "unchanged (already on {destination})"),
    ("not started", "not started (untouched: an earlier service failed)"),
)


def child_failure(result: dict[str, Any]) -> tuple[str, str]:
    """(error, cause) of a service whose execution failed. Step Functions reports a failed child execution as
    States.TaskFailed with the child's DescribeExecution output as the cause; anything else is kept as it came."""
    error, cause = str(result.get("error") or "States.TaskFailed"), str(result.get("cause") or "")
    try:
        described = json.loads(cause)
    except ValueError:
        return error, cause
    if not isinstance(described, dict):
        return error, cause
    inner = {key.lower(): value for key, value in described.items()}
    return str(inner.get("error") or error), str(inner.get("cause") or cause)


def _names(results: list[dict[str, Any]], revision: bool) -> str:
    listed = [
        f"{r['cluster'].rsplit('/', 1)[-1]}/{r['service'].rsplit('/', 1)[-1]}"
        + (f" on {short_name(r['taskDefinition'])}" if revision and r.get("taskDefinition") else "")
        for r in results[:LISTED_PER_GROUP]
    ]
    more = len(results) - len(listed)
    return ", ".join(listed) + (f" and {more} more" if more else "")


def ecs_outcome(results: list[dict[str, Any]], destination: str = "the mesh") -> EcsOutcome:
    """Whether the services' rollout failed and, if so, the error of the first failed service (in input order) and
    a cause that says what happened to each service: which revision it is on, or that it was not started."""
    counts = {
        action: sum(r.get("action") == action for r in results) for action in ("updated", "unchanged", "not started", "failed")
    }
    failed = [r for r in results if r.get("action") == "failed"]
    if not failed:
        return {"failed": False, "services": counts}
    failures = [(r, *child_failure(r)) for r in failed]
    if len(failures) == 1:  # its cause already names the service
        lines = [failures[0][2] or failures[0][1]]
    else:
        lines = [f"{_names([r], False)}: {error}: {cause}" for r, error, cause in failures[:LISTED_PER_GROUP]]
    groups = [
        f"{label.format(destination=destination)}: {_names(members, action in ('updated', 'unchanged'))}"
        for action, label in GROUPS
        if (members := [r for r in results if r.get("action") == action])
    ]
    summary = f"{len(failed)} of {len(results)} services failed; " + ("; ".join(groups) if groups else "no other service")
    return {"failed": True, "error": failures[0][1], "cause": "\n".join([*lines, summary]), "services": counts}
