"""The health gate's verdicts from CloudWatch alarms and metrics (against the emulated CloudWatch)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mesh_rollout.shifting.gate import health_verdict, metric_value

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DIMENSIONS = [{"Name": "TargetGroup", "Value": "targetgroup/serviceBv2/0123456789abcdef"}]


def stat(metric: str, statistic: str = "Sum") -> dict[str, Any]:
    return {
        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": DIMENSIONS},
        "Period": 60,
        "Stat": statistic,
    }


ERROR_RATIO = {
    "id": "errorRatio",
    "metricStat": stat("HTTPCode_Target_5XX_Count"),
    "divideBy": stat("RequestCount"),
    "threshold": 0.01,
    "comparisonOperator": "GreaterThanThreshold",
}


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-west-2")


def put(cloudwatch: Any, metric: str, *values: float) -> None:
    cloudwatch.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": metric, "Dimensions": DIMENSIONS, "Value": v, "Timestamp": NOW - dt.timedelta(seconds=30 + i)}
            for i, v in enumerate(values)
        ],
    )


def test_error_ratio_under_the_threshold_is_healthy(cloudwatch: Any) -> None:
    put(cloudwatch, "HTTPCode_Target_5XX_Count", 1)
    put(cloudwatch, "RequestCount", 500, 500)
    verdict = health_verdict({"metrics": [ERROR_RATIO]}, cloudwatch, None, 300, 0, NOW)
    assert verdict["state"] == "HEALTHY"
    assert verdict["reasons"] == ["metric errorRatio = 0.001 (unhealthy when above 0.01)"]


def test_error_ratio_over_the_threshold_is_unhealthy(cloudwatch: Any) -> None:
    put(cloudwatch, "HTTPCode_Target_5XX_Count", 30, 20)
    put(cloudwatch, "RequestCount", 1000)
    verdict = health_verdict({"metrics": [ERROR_RATIO]}, cloudwatch, None, 300, 0, NOW)
    assert (verdict["state"], verdict["reasons"]) == (
        "UNHEALTHY",
        ["metric errorRatio = 0.05, above 0.01"],
    )


def test_no_data_is_pending_then_unhealthy_after_the_rechecks(cloudwatch: Any) -> None:
    gate = {"metrics": [ERROR_RATIO], "maxPendingChecks": 2}
    states = [health_verdict(gate, cloudwatch, None, 300, checks, NOW)["state"] for checks in range(3)]
    assert states == ["PENDING", "PENDING", "UNHEALTHY"]
    last = health_verdict(gate, cloudwatch, None, 300, 2, NOW)
    assert last["reasons"][0] == "still PENDING after 3 checks"


@pytest.mark.parametrize(("treat", "state"), [("notBreaching", "HEALTHY"), ("breaching", "UNHEALTHY"), ("missing", "PENDING")])
def test_missing_data_follows_treat_missing_data(cloudwatch: Any, treat: str, state: str) -> None:
    verdict = health_verdict({"metrics": [{**ERROR_RATIO, "treatMissingData": treat}]}, cloudwatch, None, 300, 0, NOW)
    assert verdict["state"] == state


def test_latency_uses_the_worst_datapoint_not_the_sum() -> None:
    p99 = {"id": "p99", "metricStat": stat("TargetResponseTime", "p99"), "threshold": 0.5}
    assert metric_value(p99, {"p99": [0.2, 0.7, 0.3]}) == 0.7
    assert metric_value(ERROR_RATIO, {"errorRatio": [1, 2], "errorRatio_divisor": [100, 200]}) == 0.01
    assert metric_value(ERROR_RATIO, {"errorRatio": [1], "errorRatio_divisor": [0]}) is None


def test_alarm_in_alarm_is_unhealthy_and_names_it(cloudwatch: Any) -> None:
    for name in ("latency", "errors"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="m",
            Namespace="n",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="5xx spike")
    verdict = health_verdict({"alarmNames": ["latency", "errors"]}, cloudwatch, None, 300, 0, NOW)
    assert verdict["state"] == "UNHEALTHY"
    assert verdict["reasons"] == ["alarm errors is in ALARM (5xx spike)"]
    assert verdict["summary"] == "UNHEALTHY: alarm errors is in ALARM (5xx spike)"


def test_no_checks_configured_is_healthy_and_says_so(cloudwatch: Any) -> None:
    assert health_verdict({}, cloudwatch, None, 300, 0, NOW)["reasons"] == ["no health checks configured"]


def test_an_error_count_with_no_datapoints_is_zero_errors_when_requests_were_served(cloudwatch: Any) -> None:
    """ALB publishes no HTTPCode_Target_5XX_Count while there are no 5xx: a clean canary is HEALTHY, not PENDING."""
    put(cloudwatch, "RequestCount", 500)
    verdict = health_verdict({"metrics": [ERROR_RATIO]}, cloudwatch, None, 300, 0, NOW)
    assert verdict["reasons"] == ["metric errorRatio = 0 (unhealthy when above 0.01)"]
    assert verdict["state"] == "HEALTHY"


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


def test_a_metric_without_data_says_what_was_queried_so_it_can_be_looked_up(cloudwatch: Any) -> None:
    """A dimension written wrong (a target group's ARN suffix, say) reads as no data: the reason names the query."""
    verdict = health_verdict({"metrics": [ERROR_RATIO]}, cloudwatch, None, 300, 0, NOW)
    assert (verdict["state"], verdict["reasons"]) == (
        "PENDING",
        [
            "metric errorRatio: no data in the last 300 s for AWS/ApplicationELB HTTPCode_Target_5XX_Count "
            "{TargetGroup=targetgroup/serviceBv2/0123456789abcdef} / AWS/ApplicationELB RequestCount "
            "{TargetGroup=targetgroup/serviceBv2/0123456789abcdef} (treated as missing)"
        ],
    )
