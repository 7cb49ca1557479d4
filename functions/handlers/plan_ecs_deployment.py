"""PlanEcsDeployment: check an ECS deployment input and the service it names (read-only) and plan the gated steps."""

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.plan_ecs_deployment import PlanEcsDeploymentEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer

if TYPE_CHECKING:  # the planner is imported at the first invocation (it brings pydantic)
    from mesh_rollout.deploying.plan import EcsDeploymentPlan


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> "EcsDeploymentPlan":
    request = PlanEcsDeploymentEvent.parse(event)
    # The planner brings pydantic and the input models. Imported here, they cost the first invocation what they would
    # cost the import (every invocation needs them: moved, not saved; issue 13, `make bench` shows both).
    from mesh_rollout.deploying.plan import plan_ecs_deployment

    plan = plan_ecs_deployment(request.rollout, client("ecs"), client("cloudwatch"), os.environ.get("ECS_CLUSTERS", "*"))
    logger.info(
        "ECS deployment planned",
        extra={"service": plan["serviceArn"], "mode": plan["mode"], "strategy": plan["strategy"], "steps": plan["steps"]},
    )
    metrics.add_metric(name="EcsDeploymentsPlanned", unit="Count", value=1)
    return plan
