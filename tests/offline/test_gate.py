"""The health gate's verdicts from CloudWatch alarms and metrics (against the emulated CloudWatch; the
verdicts on values already read and on ECS services: tests/unit/test_gate.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mesh_rollout.shifting.gate import health_verdict
from tests.support.gate import DIMENSIONS, ERROR_RATIO, NOW


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
