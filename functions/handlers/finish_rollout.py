"""FinishRollout: on every way out, release the route lock and publish how the rollout ended."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.events.finish_rollout import FinishGroupEvent, FinishRolloutEvent
from mesh_rollout.grouping.finish import GroupFinished, finish_group
from mesh_rollout.observability import CORRELATION_PATH, count_unsent_notification, logger, metrics, tracer
from mesh_rollout.shifting.weight_shift import RolloutFinished, finish_record, finish_rollout


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> RolloutFinished | GroupFinished:
    result: RolloutFinished | GroupFinished
    if "legs" in event.get("state", {}):  # a group: every leg's locks, every leg's weights in the outcome
        group = FinishGroupEvent.parse(event)
        result = finish_group(*_finishing(), group.executionArn or "", group.state)
    else:
        if "state" in event:  # the state machine hands over its state; the record is worked out here (finish_record)
            event = {**{k: v for k, v in event.items() if k != "state"}, **finish_record(event["state"])}
        request = FinishRolloutEvent.parse(event)
        result = finish_rollout(*_finishing(), request.executionArn or "", request.as_dict())
    logger.info("weight shift finished", extra=result)
    count_unsent_notification(result)
    metrics.add_metric(
        name="WeightShiftsSucceeded" if result["status"] == "SUCCEEDED" else "WeightShiftsFailed", unit="Count", value=1
    )
    return result


def _finishing() -> tuple[Any, str, Any, str]:
    """The clients and settings both outcomes are finished with (read once the event is checked)."""
    return client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"], client("sns"), os.environ["NOTIFICATION_TOPIC_ARN"]
