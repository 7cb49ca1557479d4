"""The health gate's metric queries (an ALB target group's error ratio) that more than one test module judges."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
