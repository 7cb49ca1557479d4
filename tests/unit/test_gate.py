"""The health gate's verdicts on values already read and on ECS services (a stubbed ECS); the verdicts from the
emulated CloudWatch's alarms and metrics: tests/offline/test_gate.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mesh_rollout.shifting.gate import health_verdict, metric_value
from tests.support.gate import ERROR_RATIO, NOW, stat


def test_latency_uses_the_worst_datapoint_not_the_sum() -> None:
    p99 = {"id": "p99", "metricStat": stat("TargetResponseTime", "p99"), "threshold": 0.5}
    assert metric_value(p99, {"p99": [0.2, 0.7, 0.3]}) == 0.7
    assert metric_value(ERROR_RATIO, {"errorRatio": [1, 2], "errorRatio_divisor": [100, 200]}) == 0.01
    assert metric_value(ERROR_RATIO, {"errorRatio": [1], "errorRatio_divisor": [0]}) is None


def test_a_less_than_limit_is_judged_on_the_lowest_period() -> None:
    availability = {"id": "ok", "metricStat": stat("Availability", "Average"), "threshold": 0.99}
    values = {"ok": [0.999, 0.95, 0.998]}
    assert metric_value({**availability, "comparisonOperator": "LessThanThreshold"}, values) == 0.95
    assert metric_value({**availability, "comparisonOperator": "GreaterThanThreshold"}, values) == 0.999


def _service(rollout: str, running: int, desired: int, failed: int) -> dict[str, Any]:
    deployment = {
        "id": "ecs-svc/1",
        "status": "PRIMARY",
        "taskDefinition": "arn:aws:ecs:us-west-2:123456789012:task-definition/taskBv2:3",
        "desiredCount": desired,
        "runningCount": running,
        "failedTasks": failed,
        "rolloutState": rollout,
    }
    service = {"serviceName": "serviceBv2", "status": "ACTIVE", "taskDefinition": deployment["taskDefinition"]}
    return {"services": [{**service, "deployments": [deployment]}]}


@pytest.mark.parametrize(
    ("rollout", "running", "failed", "state", "reason"),
    [
        ("COMPLETED", 3, 0, "HEALTHY", "ECS service apps/serviceBv2: 3/3 tasks running"),
        ("COMPLETED", 0, 7, "PENDING", "ECS service apps/serviceBv2: only 0/3 tasks running, 7 failed"),
        ("IN_PROGRESS", 1, 2, "UNHEALTHY", "ECS service apps/serviceBv2: 2 tasks failed"),
        ("FAILED", 0, 3, "UNHEALTHY", "ECS service apps/serviceBv2: deployment failed"),
    ],
)
def test_ecs_service_verdicts(rollout: str, running: int, failed: int, state: str, reason: str) -> None:
    ecs = boto3.client("ecs", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ecs) as stub:
        expected = {"cluster": "apps", "services": ["serviceBv2"]}
        stub.add_response("describe_services", _service(rollout, running, 3, failed), expected)
        verdict = health_verdict({"ecsServices": [{"cluster": "apps", "service": "serviceBv2"}]}, None, ecs, 300, 0, NOW)
    assert verdict["state"] == state
    assert verdict["reasons"][0].startswith(reason)
