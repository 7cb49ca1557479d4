"""ValidateRollout: check the whole input before anything changes, and plan the run."""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.validate_rollout import ValidateRolloutEvent
from mesh_rollout.observability import CORRELATION_PATH, envoy_image, logger, metrics, tracer

if TYPE_CHECKING:  # the planner is imported at the first invocation (it brings pydantic)
    from mesh_rollout.onboarding.rollout import RolloutPlan


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> "RolloutPlan":
    request = ValidateRolloutEvent.parse(event)
    # The planner brings pydantic and the input models. Imported here, they cost the first invocation what they would
    # cost the import (every invocation needs them: moved, not saved; issue 13, `make bench` shows both).
    from mesh_rollout.onboarding.rollout import validate_rollout

    plan = validate_rollout(request.rollout, client("appmesh"), client("ecs"), envoy_image())
    metrics.add_metric(name="RolloutsValidated", unit="Count", value=1)
    return plan
