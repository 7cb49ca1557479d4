"""CanaryHealth: the health gate's verdict on the canary (HEALTHY, PENDING or UNHEALTHY, with reasons); for a group,
every leg's, and the group's (grouping.legs)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.canary_health import CanaryHealthEvent, LegsHealthEvent
from mesh_rollout.grouping.legs import GroupVerdict, read_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer
from mesh_rollout.shifting.gate import GateVerdict, health_verdict


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> GateVerdict | GroupVerdict:
    if "legs" in event:
        group = LegsHealthEvent.parse(event)
        deployment = None
        if group.ecsLegs:  # an ECS leg ECS rolled back by itself is UNHEALTHY at once (its deployment, as ECS says)
            from mesh_rollout.grouping.ecs_legs import described_deployment

            table = os.environ["ROUTE_LOCK_TABLE"]
            deployment = described_deployment(client("ecs"), client("dynamodb"), table, group.executionArn or "")
        verdicts = read_legs(
            group.leg_dicts(),
            client("cloudwatch"),
            client("ecs"),
            group.windowSeconds,
            group.checks,
            ecs_legs=group.ecsLegs or [],
            percent=group.percent,
            deployment=deployment,
        )
        logger.info("group health verdict", extra=verdicts)
        metrics.add_metric(name=f"HealthVerdict{verdicts['state'].title()}", unit="Count", value=1)
        return verdicts
    request = CanaryHealthEvent.parse(event)
    verdict = health_verdict(request.healthGate, client("cloudwatch"), client("ecs"), request.windowSeconds, request.checks)
    logger.info("health verdict", extra=verdict)
    metrics.add_metric(name=f"HealthVerdict{verdict['state'].title()}", unit="Count", value=1)
    if "judge" in verdict:  # the statistical judge's outcome: JudgePass, JudgeFail, JudgeMarginal, JudgeNo_Data
        metrics.add_metric(name=f"Judge{verdict['judge']['outcome'].title()}", unit="Count", value=1)
    return verdict
