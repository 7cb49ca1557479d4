"""ECS service deployments (BLUE_GREEN, LINEAR, CANARY): the few calls the EcsDeploymentStateMachine makes.

Parameters follow botocore's ecs model exactly (ContinueServiceDeployment's serviceDeploymentArn is required there,
though the developer guide's CLI examples leave it out). A refusal that a retry or a race can cause is returned as
text for the caller to judge; anything else is raised as a named error.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, error_code
from mesh_rollout.errors import MeshResourceNotFound

STARTED = ["IN_PROGRESS", "PENDING"]
# ContinueServiceDeployment answers a pause that is no longer AWAITING_ACTION (a retry, a timeout) with one of
# these; which one is not documented (ecs_facts 6.1), so the caller reads the hook to tell.
REFUSALS = frozenset({"ClientException", "InvalidParameterException"})


def deployment_id(arn: str) -> str:
    """The last part of arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID."""
    return arn.rsplit("/", 1)[-1]


def list_deployments(
    ecs: Any, cluster: str, service: str, statuses: list[str] | None = None, after: Any = None
) -> list[dict[str, Any]]:
    """ListServiceDeployments' briefs (every page; the operation has no paginator), newest first as ECS lists them."""
    params: dict[str, Any] = {"cluster": cluster, "service": service}
    if statuses:
        params["status"] = statuses
    if after is not None:
        params["createdAt"] = {"after": after}
    found: list[dict[str, Any]] = []
    with aws_errors(f"ListServiceDeployments {cluster}/{service}"):
        while True:
            page = ecs.list_service_deployments(**params)
            found.extend(page.get("serviceDeployments", []))
            if not page.get("nextToken"):
                return found
            params["nextToken"] = page["nextToken"]


def describe_deployments(ecs: Any, arns: list[str]) -> list[dict[str, Any]]:
    """DescribeServiceDeployments; deployments ECS does not know are left out (they come back as `failures`)."""
    if not arns:
        return []
    with aws_errors(f"DescribeServiceDeployments {', '.join(deployment_id(a) for a in arns)}"):
        return list(ecs.describe_service_deployments(serviceDeploymentArns=arns).get("serviceDeployments", []))


def describe_deployment(ecs: Any, arn: str) -> dict[str, Any]:
    """One deployment; MeshResourceNotFound if ECS does not know it (Describe reports it under `failures`)."""
    with aws_errors(f"DescribeServiceDeployments {deployment_id(arn)}"):
        response = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    found = response.get("serviceDeployments", [])
    if not found:
        why = "; ".join(f"{f.get('reason', '')} {f.get('detail', '')}".strip() for f in response.get("failures", []))
        raise MeshResourceNotFound(f"DescribeServiceDeployments {arn}: not found ({why or 'no deployment returned'})")
    return dict(found[0])


def revision_task_definitions(ecs: Any, revision_arns: list[str]) -> dict[str, str]:
    """{service revision ARN: its task definition ARN} (DescribeServiceRevisions)."""
    if not revision_arns:
        return {}
    with aws_errors("DescribeServiceRevisions"):
        revisions = ecs.describe_service_revisions(serviceRevisionArns=revision_arns).get("serviceRevisions", [])
    return {r["serviceRevisionArn"]: r.get("taskDefinition", "") for r in revisions}


def continue_hook(ecs: Any, arn: str, hook_id: str, action: str) -> str | None:
    """ContinueServiceDeployment with CONTINUE or ROLLBACK: None if ECS took it, else ECS's refusal
    (ClientException / InvalidParameterException) for the caller to judge; anything else raised, named.
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html)"""
    try:
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)
    except ClientError as exc:
        if error_code(exc) in REFUSALS:
            return f"{error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
        raise classify(exc, f"ContinueServiceDeployment {deployment_id(arn)} {hook_id} {action}") from exc
    return None


def stop_for_rollback(ecs: Any, arn: str) -> str | None:
    """StopServiceDeployment stopType ROLLBACK: None if ECS took it, else the ConflictException's text (the
    deployment has already finished; ECS's "conflict in the current state of the resource").
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html)"""
    try:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    except ClientError as exc:
        if error_code(exc) == "ConflictException":
            return f"ConflictException: {exc.response.get('Error', {}).get('Message', '')}"
        raise classify(exc, f"StopServiceDeployment {deployment_id(arn)} ROLLBACK") from exc
    return None


def hook_status(deployment: dict[str, Any], hook_id: str) -> str | None:
    """The status of one lifecycle hook of the deployment, or None if it has no such hook."""
    for hook in deployment.get("lifecycleHookDetails", []):
        if hook.get("hookId") == hook_id:
            return str(hook.get("status"))
    return None
