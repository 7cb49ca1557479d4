"""PlanWeightShift: check a weight-shift input (read-only) and plan its steps, before anything changes: a group of
legs, or a route alone as the group of one leg it is (grouping.plan.route_alone)."""

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.plan_weight_shift import PlanWeightShiftEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer

if TYPE_CHECKING:  # the planner is imported at the first invocation (it brings pydantic)
    from mesh_rollout.grouping.plan import GroupPlan
from mesh_rollout.shifting.lock import halted


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> "GroupPlan":
    request = PlanWeightShiftEvent.parse(event)
    # The planner brings pydantic and the input models. Imported here, they cost the first invocation what they would
    # cost the import (every invocation needs them: moved, not saved; issue 13, `make bench` shows both).
    from mesh_rollout.grouping.plan import route_alone
    from mesh_rollout.shifting.plan import plan_weight_shift

    if isinstance(request.rollout, dict) and "legs" in request.rollout:  # a group of legs (grouping.plan)
        from mesh_rollout.grouping.plan import plan_group

        group = plan_group(request.rollout, client("cloudwatch"), client("ecs"), os.environ.get("ECS_CLUSTERS", "*"))
        logger.info("group planned", extra={"group": group["group"], "steps": group["steps"]})
        metrics.add_metric(name="WeightShiftsPlanned", unit="Count", value=1)
        return group
    plan = plan_weight_shift(
        request.rollout,
        client("cloudwatch"),
        client("ecs"),
        lambda lock_id: halted(client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], lock_id),
        os.environ.get("ECS_CLUSTERS", "*"),
    )
    logger.info("weight shift planned", extra={"route": plan["route"]["label"], "steps": plan["steps"]})
    metrics.add_metric(name="WeightShiftsPlanned", unit="Count", value=1)
    return route_alone(plan)  # a group of one leg: the group's states, with a route's outputs
