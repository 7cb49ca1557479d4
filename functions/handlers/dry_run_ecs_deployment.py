"""DryRunEcsDeployment: everything an ECS deployment would hit, checked read-only and reported at once (no lock, no
UpdateService, no ContinueServiceDeployment); the state machine succeeds with the report, or fails
DryRunFoundProblems with its text."""

import json
import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.dry_run_ecs_deployment import DryRunEcsDeploymentEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer

if TYPE_CHECKING:  # the dry run is imported at the first invocation (it brings pydantic, as the planner does)
    from mesh_rollout.deploying.dry_run import EcsDryRunReport


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> "EcsDryRunReport":
    request = DryRunEcsDeploymentEvent.parse(event)
    from mesh_rollout.deploying.dry_run import dry_run
    from mesh_rollout.dry_run import Clients, Stack

    clients = Clients(client("cloudwatch"), client("ecs"), client("dynamodb"), client("sns"), client("iam"))
    stack = Stack(
        lock_table=os.environ["ROUTE_LOCK_TABLE"],
        topic_arn=os.environ["NOTIFICATION_TOPIC_ARN"],
        roles=json.loads(os.environ.get("STACK_ROLES") or "{}"),  # {function logical id: role ARN}, template.yaml
        clusters=os.environ.get("ECS_CLUSTERS", "*"),
        key_arn=os.environ.get("KMS_KEY_ARN") or None,  # the key of the table and the topic (MeshRolloutKey)
    )
    report = dry_run(request.rollout, clients, stack)
    logger.info("ECS deployment dry run", extra={"ready": report["ready"], "problems": report["problems"]})
    metrics.add_metric(name="EcsDeploymentDryRuns", unit="Count", value=1)
    if not report["ready"]:  # the execution ends FAILED (DryRunFoundProblems); EcsDeploymentFailuresAlarm subtracts these
        metrics.add_metric(name="EcsDeploymentDryRunsNotReady", unit="Count", value=1)
    return report
