"""The canary's health gate: HEALTHY / PENDING / UNHEALTHY with reasons, from alarms, ECS and metrics."""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

from mesh_rollout import clock
from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.deployments import deployment_verdict
from mesh_rollout.aws.ecs import describe_service
from mesh_rollout.shifting.judge import judge_metric, score

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
SUMMED_STATS = frozenset({"Sum", "SampleCount"})
NOTHING_CHECKED = "no health checks configured"  # a gate with nothing to read


class JudgeResult(TypedDict):
    """The statistical judge's outcome: PASS, FAIL, MARGINAL or NO_DATA, its score and each metric's verdict."""

    outcome: str
    score: float | None
    metrics: list[str]


class GateVerdict(TypedDict):
    """CanaryHealth's result (and EcsStepCheck's): the state machines choose on `state` and report `summary`."""

    state: str  # HEALTHY, PENDING or UNHEALTHY
    reasons: list[str]
    checks: int
    summary: str
    judge: NotRequired[JudgeResult]


class Findings:
    """What each check found, sorted into what makes the canary unhealthy, pending or is just fine."""

    def __init__(self) -> None:
        self.unhealthy: list[str] = []
        self.pending: list[str] = []
        self.fine: list[str] = []

    @property
    def state(self) -> str:
        return "UNHEALTHY" if self.unhealthy else "PENDING" if self.pending else "HEALTHY"


def check_alarms(cloudwatch: Any, names: list[str], found: Findings) -> None:
    if not names:
        return
    with aws_errors("DescribeAlarms"):
        response = cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = {a["AlarmName"]: a for a in response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])}
    for name in names:
        alarm = alarms.get(name)
        if alarm is None:
            found.unhealthy.append(f"alarm {name} does not exist any more")
        elif alarm["StateValue"] == "ALARM":
            found.unhealthy.append(f"alarm {name} is in ALARM ({alarm.get('StateReason', 'no reason given')})")
        else:
            found.fine.append(f"alarm {name} {alarm['StateValue']}")


def check_ecs_services(ecs: Any, services: list[dict[str, str]], found: Findings) -> None:
    for index, ref in enumerate(services):
        label = f"{ref['cluster']}/{ref['service']}"
        service = describe_service(ecs, ref["cluster"], ref["service"], f"healthGate.ecsServices[{index}]")
        verdict = deployment_verdict(service, service["taskDefinition"])
        if verdict.state == "FAILED":
            found.unhealthy.append(f"ECS service {label}: deployment failed ({verdict.reason})")
        elif verdict.failedTasks > 0 and verdict.state == "IN_PROGRESS":
            found.unhealthy.append(f"ECS service {label}: {verdict.failedTasks} tasks failed ({verdict.reason})")
        elif verdict.state == "IN_PROGRESS":
            found.pending.append(f"ECS service {label}: deployment in progress ({verdict.reason})")
        elif verdict.runningCount < verdict.desiredCount:  # a completed deployment whose tasks have since stopped
            found.pending.append(
                f"ECS service {label}: only {verdict.runningCount}/{verdict.desiredCount} tasks running"
                + (f", {verdict.failedTasks} failed" if verdict.failedTasks else "")
            )
        else:
            found.fine.append(f"ECS service {label}: {verdict.runningCount}/{verdict.desiredCount} tasks running")


def _aggregate(values: list[float], stat: str, worst: Callable[..., float] = max) -> float | None:
    """Summed stats add up over the window; any other stat counts its worst period."""
    if not values:
        return None
    return float(sum(values)) if stat in SUMMED_STATS else float(worst(values))


def metric_value(metric: dict[str, Any], results: dict[str, list[float]]) -> float | None:
    """The metric over the window, or the ratio of two (computed here: no metric math needed). The worst
    period is the highest for Greater* limits and the lowest for Less* ones."""
    worst = min if metric.get("comparisonOperator", "").startswith("Less") else max
    stat = metric["metricStat"]["Stat"]
    value = _aggregate(results.get(metric["id"], []), stat, worst)
    if metric.get("divideBy") is None:
        return value
    denominator = _aggregate(results.get(f"{metric['id']}_divisor", []), metric["divideBy"]["Stat"])
    if not denominator:
        return None
    if value is None and stat in SUMMED_STATS:  # error counts publish nothing while there are no errors
        value = 0.0
    return None if value is None else value / denominator


def check_metrics(cloudwatch: Any, metrics: list[dict[str, Any]], window_seconds: int, now: dt.datetime, found: Findings) -> None:
    if not metrics:
        return
    queries = []
    for metric in metrics:
        queries.append({"Id": metric["id"], "MetricStat": metric["metricStat"], "ReturnData": True})
        if metric.get("divideBy") is not None:
            queries.append({"Id": f"{metric['id']}_divisor", "MetricStat": metric["divideBy"], "ReturnData": True})
    start = now - dt.timedelta(seconds=max(window_seconds, 60))
    results: dict[str, list[float]] = {}
    with aws_errors("GetMetricData"):
        for page in cloudwatch.get_paginator("get_metric_data").paginate(MetricDataQueries=queries, StartTime=start, EndTime=now):
            for result in page["MetricDataResults"]:
                results.setdefault(result["Id"], []).extend(result.get("Values", []))
    for metric in metrics:
        value = metric_value(metric, results)
        limit = f"{BREACHES[metric['comparisonOperator']]} {metric['threshold']:.6g}"
        if value is None:
            missing = metric.get("treatMissingData", "missing")
            target = {"missing": found.pending, "breaching": found.unhealthy, "notBreaching": found.fine}[missing]
            target.append(
                f"metric {metric['id']}: no data in the last {max(window_seconds, 60)} s for {queried(metric)} "
                f"(treated as {missing})"
            )
        elif COMPARISONS[metric["comparisonOperator"]](value, metric["threshold"]):
            found.unhealthy.append(f"metric {metric['id']} = {value:.6g}, {limit}")
        else:
            found.fine.append(f"metric {metric['id']} = {value:.6g} (unhealthy when {limit})")


# How a comparison reads in a verdict: "metric canaryErrorRate = 0.05, above 0.01"
BREACHES = {
    "GreaterThanThreshold": "above",
    "GreaterThanOrEqualToThreshold": "at or above",
    "LessThanThreshold": "below",
    "LessThanOrEqualToThreshold": "at or below",
}


def queried(metric: dict[str, Any]) -> str:
    """What GetMetricData was asked for, as a person looks it up: `AWS/ApplicationELB HTTPCode_Target_5XX_Count
    {TargetGroup=targetgroup/...}` (and its divisor's), so a metric with no data can be checked in CloudWatch."""

    def one(stat: dict[str, Any]) -> str:
        found = stat["Metric"]
        dimensions = ", ".join(f"{d['Name']}={d['Value']}" for d in found.get("Dimensions", []))
        return f"{found.get('Namespace', '?')} {found.get('MetricName', '?')} {{{dimensions}}}"

    text = one(metric["metricStat"])
    return text + (f" / {one(metric['divideBy'])}" if metric.get("divideBy") is not None else "")


def _series(results: dict[str, dict[dt.datetime, float]], key: str, summed_numerator: bool) -> list[float]:
    """Per-period values of one side: the metric, or its ratio to the divisor in each period with a non-zero divisor
    (a Sum numerator with no datapoint in such a period is 0: error counts publish nothing while there are none)."""
    values = results.get(key, {})
    divisor = results.get(f"{key}_d")
    if divisor is None:
        return [values[t] for t in sorted(values)]
    return [values.get(t, 0.0 if summed_numerator else math.nan) / d for t, d in sorted(divisor.items()) if d]


def check_compare(
    cloudwatch: Any,
    compare: dict[str, Any] | None,
    window_seconds: int,
    now: dt.datetime,
    checks: int,
    bound: int,
    found: Findings,
) -> JudgeResult | None:
    """The statistical judge: canary against stable, per period, one GetMetricData call for every metric of both."""
    if not compare:
        return None
    queries = []
    for index, metric in enumerate(compare["metrics"]):
        for side in ("canary", "stable"):
            queries.append({"Id": f"m{index}_{side}", "MetricStat": metric[side]["metricStat"], "ReturnData": True})
            if metric[side].get("divideBy"):
                queries.append({"Id": f"m{index}_{side}_d", "MetricStat": metric[side]["divideBy"], "ReturnData": True})
    start = now - dt.timedelta(seconds=max(window_seconds, 60))
    results: dict[str, dict[dt.datetime, float]] = {}
    with aws_errors("GetMetricData"):
        for page in cloudwatch.get_paginator("get_metric_data").paginate(MetricDataQueries=queries, StartTime=start, EndTime=now):
            for result in page["MetricDataResults"]:
                results.setdefault(result["Id"], {}).update(
                    zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                )
    judged = []
    for index, metric in enumerate(compare["metrics"]):
        sides = {}
        for side in ("canary", "stable"):
            summed = metric[side]["metricStat"]["Stat"] in SUMMED_STATS
            sides[side] = [v for v in _series(results, f"m{index}_{side}", summed) if not math.isnan(v)]
        verdict = judge_metric(
            metric["id"],
            sides["canary"],
            sides["stable"],
            metric["direction"],
            compare["alpha"],
            compare["minEffect"],
            compare["minPoints"],
        )
        judged.append((verdict, float(metric["weight"])))
    total = score(judged)
    outcome = (
        "NO_DATA"
        if total is None
        else "PASS"
        if total >= compare["passScore"]
        else "FAIL"
        if total < compare["marginalScore"]
        else "MARGINAL"
    )
    summary = f"judge: {outcome}" + (
        "" if total is None else f", score {total:.0f} (pass {compare['passScore']}, marginal {compare['marginalScore']})"
    )
    lines = [f"{summary}: {'; '.join(v.describe() for v, _ in judged)}"]
    if outcome == "FAIL":
        found.unhealthy += lines
    elif outcome == "PASS":
        found.fine += lines
    elif outcome == "NO_DATA" and compare["whenNoData"] == "pass" and checks >= bound:
        found.fine.append(f"{lines[0]} (passed: no data after {checks + 1} checks, whenNoData pass)")
    else:
        found.pending += lines  # MARGINAL, or no data yet: look again; past the bound the gate fails
    return {"outcome": outcome, "score": total, "metrics": [v.describe() for v, _ in judged]}


def health_verdict(
    gate: dict[str, Any], cloudwatch: Any, ecs: Any, window_seconds: int, checks: int, now: dt.datetime | None = None
) -> GateVerdict:
    """One look at the canary. PENDING after maxPendingChecks re-checks counts as UNHEALTHY."""
    found = Findings()
    check_alarms(cloudwatch, gate.get("alarmNames", []), found)
    check_ecs_services(ecs, gate.get("ecsServices", []), found)
    now = now or clock.now()
    check_metrics(cloudwatch, gate.get("metrics", []), window_seconds, now, found)
    judge = check_compare(cloudwatch, gate.get("compare"), window_seconds, now, checks, gate.get("maxPendingChecks", 10), found)
    checks += 1
    state = found.state
    reasons = found.unhealthy or found.pending or found.fine or [NOTHING_CHECKED]
    if state == "PENDING" and checks > gate.get("maxPendingChecks", 10):
        state = "UNHEALTHY"
        reasons = [f"still PENDING after {checks} checks", *reasons]
    verdict: GateVerdict = {"state": state, "reasons": reasons, "checks": checks, "summary": f"{state}: {'; '.join(reasons)}"}
    if judge is not None:
        verdict["judge"] = judge
    return verdict
