"""DryRunWeightShift: everything a weight shift would hit, checked read-only and reported at once (no lock, no
snapshot, no write); the state machine succeeds with the report, or fails DryRunFoundProblems with its text."""

import json
import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.dry_run_weight_shift import DryRunWeightShiftEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer

if TYPE_CHECKING:  # the dry run is imported at the first invocation (it brings pydantic, as the planner does)
    from mesh_rollout.shifting.dry_run import DryRunReport


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> "DryRunReport":
    request = DryRunWeightShiftEvent.parse(event)
    from mesh_rollout.shifting.dry_run import Clients, Stack, dry_run

    clients = Clients(client("cloudwatch"), client("ecs"), client("dynamodb"), client("sns"), client("iam"))
    stack = Stack(
        lock_table=os.environ["ROUTE_LOCK_TABLE"],
        topic_arn=os.environ["NOTIFICATION_TOPIC_ARN"],
        roles=json.loads(os.environ.get("STACK_ROLES") or "{}"),  # {function logical id: role ARN}, template.yaml
        clusters=os.environ.get("ECS_CLUSTERS", "*"),
        key_arn=os.environ.get("KMS_KEY_ARN") or None,  # the key of the table and the topic (MeshRolloutKey)
    )
    report = dry_run(request.rollout, clients, stack)
    logger.info("weight shift dry run", extra={"ready": report["ready"], "problems": report["problems"]})
    metrics.add_metric(name="WeightShiftDryRuns", unit="Count", value=1)
    if not report["ready"]:  # the execution ends FAILED (DryRunFoundProblems); WeightShiftFailuresAlarm subtracts these
        metrics.add_metric(name="WeightShiftDryRunsNotReady", unit="Count", value=1)
    return report
