"""EcsDecide: answer ECS's waiting pause (ContinueServiceDeployment CONTINUE or ROLLBACK), under the service's lock."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mesh_rollout.aws import client, named_aws_errors
from mesh_rollout.deploying.decide import answer
from mesh_rollout.deploying.records import EcsDeploymentRecord
from mesh_rollout.events.ecs_decide import EcsDecideEvent, EcsLegsDecideEvent
from mesh_rollout.grouping.ecs_legs import EcsLegsAnswered, continue_legs, roll_back_legs
from mesh_rollout.observability import CORRELATION_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=CORRELATION_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
@named_aws_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> EcsDeploymentRecord | EcsLegsAnswered:
    if "ecsLegs" in event:  # a group's ECS legs (grouping.ecs_legs)
        group = EcsLegsDecideEvent.parse(event)
        dynamodb, table = client("dynamodb"), os.environ["ROUTE_LOCK_TABLE"]
        if group.action == "CONTINUE":
            done = continue_legs(client("ecs"), dynamodb, table, group.wave(), group.reads or [], group.executionArn)
        else:
            done = roll_back_legs(client("ecs"), dynamodb, table, group.wave(), group.executionArn)
        logger.info("ECS legs answered", extra={"action": group.action, "done": done["done"]})
        metrics.add_metric(name=f"EcsDeployment{group.action.title()}", unit="Count", value=len(done["done"]))
        return done
    request = EcsDecideEvent.parse(event)
    result = answer(
        client("ecs"),
        client("dynamodb"),
        os.environ["ROUTE_LOCK_TABLE"],
        request.plan,
        request.ecs,
        request.action,
        request.executionArn,
        request.check,
        request.reason,
    )
    logger.info("ECS deployment answered", extra={"action": request.action, "answered": result["answered"]})
    metrics.add_metric(name=f"EcsDeployment{request.action.title()}", unit="Count", value=1)
    return result
