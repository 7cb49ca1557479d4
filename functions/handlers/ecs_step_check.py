"""EcsStepCheck: the health gate's verdict on the step ECS holds at its pause (no ECS deployment read)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.deploying.status import StepVerdict, step_check
from mesh_rollout.events.ecs_step_check import EcsStepCheckEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> StepVerdict:
    request = EcsStepCheckEvent.parse(event)
    verdict = step_check(client("cloudwatch"), client("ecs"), request.plan, request.ecs, request.checks)
    logger.info("step verdict", extra=verdict)
    metrics.add_metric(name=f"HealthVerdict{verdict['state'].title()}", unit="Count", value=1)
    if "judge" in verdict:
        metrics.add_metric(name=f"Judge{verdict['judge']['outcome'].title()}", unit="Count", value=1)
    return verdict
