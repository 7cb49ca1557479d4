"""PlanLatticeRollout: check an App Mesh definition and its `lattice` section (read-only) and plan the move."""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.plan_lattice_rollout import PlanLatticeRolloutEvent
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer

if TYPE_CHECKING:  # the planner is imported at the first invocation (it brings pydantic)
    from mesh_rollout.migration.plan import LatticeRolloutPlan


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> "LatticeRolloutPlan":
    request = PlanLatticeRolloutEvent.parse(event)
    # The planner brings pydantic and the input models. Imported here, they cost the first invocation what they would
    # cost the import (every invocation needs them: moved, not saved; issue 13, `make bench` shows both).
    from mesh_rollout.migration.plan import plan_lattice_rollout

    plan = plan_lattice_rollout(request.rollout, client("ecs"), client("route53"), client("ec2"), client("iam"))
    logger.info("lattice rollout planned", extra={"mode": plan["mode"], "losses": plan["losses"]})
    metrics.add_metric(name="LatticeRolloutsPlanned", unit="Count", value=1)
    return plan
