"""CanaryHealth: every leg's health gate (HEALTHY, PENDING or UNHEALTHY, with reasons) and the group's verdict, the
worst leg's (grouping.legs); a route alone is the group of one leg it is."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.canary_health import LegsHealthEvent
from mesh_rollout.grouping.legs import GroupVerdict, read_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> GroupVerdict:
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
        gate=group.gate,
    )
    logger.info("health verdict", extra=verdicts)
    metrics.add_metric(name=f"HealthVerdict{verdicts['state'].title()}", unit="Count", value=1)
    for leg in verdicts["legs"]:  # the statistical judge's outcome: JudgePass, JudgeFail, JudgeMarginal, JudgeNo_Data
        if "judge" in leg:
            metrics.add_metric(name=f"Judge{leg['judge']['outcome'].title()}", unit="Count", value=1)
    return verdicts
