"""EcsHookEvent: a deployment started elsewhere (CloudFormation, the console, a pipeline) paused at one of the
stages we gate; start one gate execution of the EcsDeploymentStateMachine for it, unless one of ours holds the
service's lock. Idempotent per deployment: the execution is named after it.

The event is EventBridge's "ECS Hook State Change" (detail: eventName, hookId, hookType, lifecycleStage,
clusterArn, serviceArn, serviceDeploymentArn ...;
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_hook_state_change_events.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html#pause-hooks-eventbridge).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypedDict

from botocore.exceptions import ClientError

from mesh_rollout.aws import classify, error_code
from mesh_rollout.aws.ecs_deployments import deployment_id, describe_deployment
from mesh_rollout.deploying.service_lock import lock_id_for, lock_item
from mesh_rollout.deploying.status import PAUSE_STAGES
from mesh_rollout.errors import InvalidRolloutInput

if TYPE_CHECKING:  # the pinned stubs (boto3-stubs[stepfunctions]); nothing is imported at run time
    from mypy_boto3_stepfunctions import SFNClient

SETTINGS_PARAMETER = "/mesh-rollout/ecs-gates/{cluster}/{service}"
# What a gate execution decides from the deployment, never from the settings
IDENTITY = ("cluster", "service", "serviceDeploymentArn", "taskDefinition", "imageDefinitions", "deploymentConfiguration")


def default_gate(deployment: dict[str, Any]) -> dict[str, Any]:
    """The gate without settings: the deployment's own alarms, and the judge comparing green with blue on the
    backend's error rate and latency presets."""
    alarms = list(deployment.get("alarms", {}).get("alarmNames", []))
    metrics = [{"id": "errorRate", "preset": "errorRate"}, {"id": "latency", "preset": "latency"}]
    return {"healthGate": {"alarmNames": alarms, "compare": {"metrics": metrics}}}


def gate_settings(ssm: Any, ecs: Any, cluster: str, service: str, deployment_arn: str) -> tuple[dict[str, Any], str]:
    """(settings, where from): the SSM parameter's JSON object if there is one, else the default gate."""
    name = SETTINGS_PARAMETER.format(cluster=cluster, service=service)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise classify(exc, f"GetParameter {name}") from exc
        return default_gate(describe_deployment(ecs, deployment_arn)), "the default gate"
    try:
        settings = json.loads(value)
    except ValueError as exc:
        raise InvalidRolloutInput(name, f"not JSON: {exc}") from exc
    if not isinstance(settings, dict):
        raise InvalidRolloutInput(name, "must hold a JSON object (healthGate, approval, settleSeconds ...)")
    return {k: v for k, v in settings.items() if k not in IDENTITY}, f"SSM parameter {name}"


class HookEventHandled(TypedDict):
    """EcsHookEvent's result: the gate execution it started (or found started), or None, and why."""

    started: str | None
    why: str


def execution_arn_of(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"


def on_hook_event(
    event: dict[str, Any], sfn: SFNClient, dynamodb: Any, table: str, state_machine_arn: str, ssm: Any, ecs: Any
) -> HookEventHandled:
    """{"started": the gate execution's ARN or None, "why"}."""
    detail = event.get("detail", {})
    if detail.get("eventName") != "HOOK_AWAITING_ACTION" or detail.get("hookType", "PAUSE") != "PAUSE":
        return {"started": None, "why": f"{detail.get('eventName')} of a {detail.get('hookType')} hook: nothing to gate"}
    if detail.get("lifecycleStage") not in PAUSE_STAGES:
        return {"started": None, "why": f"a pause at {detail.get('lifecycleStage')}: not a stage we gate"}
    deployment_arn, service_arn = detail["serviceDeploymentArn"], detail["serviceArn"]
    held = lock_item(dynamodb, table, lock_id_for(service_arn))
    if held is not None:
        whose = "this deployment" if held["serviceDeploymentArn"] == deployment_arn else "another deployment"
        return {"started": None, "why": f"the service's lock is held by {held['owner']} for {whose}: left to it"}
    cluster, service = detail["clusterArn"].rsplit("/", 1)[-1], service_arn.rsplit("/", 1)[-1]
    settings, source = gate_settings(ssm, ecs, cluster, service, deployment_arn)
    name = f"gate-{deployment_id(deployment_arn)}"[:80]
    payload = {**settings, "serviceDeploymentArn": deployment_arn, "cluster": cluster, "service": service}
    try:
        started = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except ClientError as exc:
        if error_code(exc) == "ExecutionAlreadyExists":  # an earlier pause (or delivery) of this deployment started it
            return {"started": execution_arn_of(state_machine_arn, name), "why": "already started for this deployment"}
        raise classify(exc, f"StartExecution {name}") from exc
    return {"started": started["executionArn"], "why": f"gating {deployment_arn} with {source}"}
