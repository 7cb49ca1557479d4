"""DryRunWeightShift: everything a weight shift would hit, checked read-only and reported at once (no lock, no
snapshot, no write); the state machine succeeds with the report, or fails DryRunFoundProblems with its text."""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import named_aws_errors
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
    from mesh_rollout.dry_run.settings import aws_clients, stack_from_env
    from mesh_rollout.shifting.dry_run import dry_run

    if isinstance(request.rollout, dict) and "legs" in request.rollout:  # a group: each leg's, then the group's plan
        from mesh_rollout.grouping.dry_run import group_dry_run

        report = group_dry_run(request.rollout, aws_clients(), stack_from_env())
    else:
        report = dry_run(request.rollout, aws_clients(), stack_from_env())
    logger.info("weight shift dry run", extra={"ready": report["ready"], "problems": report["problems"]})
    metrics.add_metric(name="WeightShiftDryRuns", unit="Count", value=1)
    if not report["ready"]:  # the execution ends FAILED (DryRunFoundProblems); WeightShiftFailuresAlarm subtracts these
        metrics.add_metric(name="WeightShiftDryRunsNotReady", unit="Count", value=1)
    return report
