"""The alarms the input names and the metrics window export-given copies, as put_metric_data entries."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesh_rollout_local.export.reads import pick

if TYPE_CHECKING:
    from mesh_rollout_local.export.world import World


class MetricsMixin:
    """The Exporter's alarms (definition and state) and the last `minutes` of the metrics the gate and judge read."""

    client: Callable[[str], Any]
    world: World
    minutes: int
    now: dt.datetime

    def _write_alarms(self, names: list[str]) -> None:
        if not names:
            return
        cloudwatch = self.client("cloudwatch")
        found = cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for alarm in found.get("MetricAlarms", []):
            params = pick(
                alarm,
                "AlarmName",
                "AlarmDescription",
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
                "EvaluateLowSampleCountPercentile",
                "Metrics",
                "ThresholdMetricId",
            )
            self.world.add("cloudwatch", "put_metric_alarm", params)
            self._alarm_state(alarm)
        for alarm in found.get("CompositeAlarms", []):
            self.world.add("cloudwatch", "put_composite_alarm", pick(alarm, "AlarmName", "AlarmDescription", "AlarmRule"))
            self._alarm_state(alarm)

    def _alarm_state(self, alarm: dict[str, Any]) -> None:
        params = {
            "AlarmName": alarm["AlarmName"],
            "StateValue": alarm["StateValue"],
            "StateReason": alarm.get("StateReason") or "exported",
        }
        self.world.add("cloudwatch", "set_alarm_state", params)

    def _write_metrics(self, stats: list[dict[str, Any]]) -> None:
        """The last minutes of each metric the gate and the judge read, one datapoint a minute, each as its age
        ({{given:now-N}}). A metric read with one statistic is written as that minute's value of it (a Sum as the
        minute's Sum, SampleCount as that many 1s, any other as a single Value: its Average, Maximum and any pNN are
        that value offline). A metric read with several (p99 by the thresholds, p50 by the judge, Average by a
        metric of the input) is read once per statistic and written as one minute's Values and Counts from which the
        emulator computes each of them as it was read (`_samples`)."""
        unique: dict[str, dict[str, Any]] = {}
        for stat in stats:
            metric = stat["Metric"]
            key = json.dumps([_metric_key(metric), stat["Stat"]])
            unique.setdefault(key, {"Metric": metric, "Period": 60, "Stat": stat["Stat"]})
        if not unique:
            return
        queries: list[dict[str, Any]] = [
            {"Id": f"m{index}", "MetricStat": stat, "ReturnData": True} for index, stat in enumerate(unique.values())
        ]
        results = self._read_metrics(queries)
        # each metric's statistics, and each minute's value of them
        metrics: dict[str, tuple[dict[str, Any], set[str], dict[dt.datetime, dict[str, float]]]] = {}
        for query in queries:
            stat = query["MetricStat"]
            _, statistics, minutes = metrics.setdefault(_metric_key(stat["Metric"]), (stat["Metric"], set(), {}))
            statistics.add(stat["Stat"])
            for stamp, value in results.get(query["Id"], []):
                minutes.setdefault(stamp, {})[stat["Stat"]] = value
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for metric, statistics, minutes in metrics.values():
            for stamp, values in sorted(minutes.items()):
                age = max(1, int((self.now - stamp).total_seconds()))
                datum: dict[str, Any] = {"MetricName": metric["MetricName"], "Dimensions": metric.get("Dimensions", [])}
                datum.update(_published(values, several=len(statistics) > 1), Timestamp=f"{{{{given:now-{age}}}}}")
                by_namespace.setdefault(metric["Namespace"], []).append(datum)
        for namespace, data in by_namespace.items():
            for begin in range(0, len(data), 1000):  # PutMetricData takes up to 1000 metrics (given.DATA_PER_CALL)
                self.world.add(
                    "cloudwatch", "put_metric_data", {"Namespace": namespace, "MetricData": data[begin : begin + 1000]}
                )

    def _read_metrics(self, queries: list[dict[str, Any]]) -> dict[str, list[tuple[dt.datetime, float]]]:
        """Each query's (timestamp, value) over the last `minutes`."""
        start = self.now - dt.timedelta(minutes=self.minutes)
        results: dict[str, list[tuple[dt.datetime, float]]] = {}
        cloudwatch = self.client("cloudwatch")
        for begin in range(0, len(queries), 500):  # GetMetricData takes up to 500 queries
            for page in cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries[begin : begin + 500], StartTime=start, EndTime=self.now
            ):
                for result in page["MetricDataResults"]:
                    results.setdefault(result["Id"], []).extend(
                        zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                    )
        return results


def _published(values: dict[str, float], several: bool) -> dict[str, Any]:
    """A minute of a metric as PutMetricData's datum fields (see `MetricsMixin._write_metrics`)."""
    if several and any(stat in COMPUTED or PERCENTILE.match(stat) for stat in values):
        samples = _samples(values)
        return {"Values": [v for v, _ in samples], "Counts": [float(c) for _, c in samples]}
    if "SampleCount" in values:
        return {"Values": [1.0], "Counts": [values["SampleCount"]]}
    return {"Value": next(iter(values.values()))}


def _metric_key(metric: dict[str, Any]) -> str:
    """A metric's identity: namespace, name and dimensions (in any order)."""
    dimensions = sorted(json.dumps(d, sort_keys=True) for d in metric.get("Dimensions", []))
    return json.dumps([metric.get("Namespace"), metric.get("MetricName"), dimensions])


COMPUTED = frozenset({"SampleCount", "Sum", "Average", "Minimum", "Maximum"})  # and pNN (emulator/cloudwatch.py)
PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?)$")


def _samples(values: dict[str, float]) -> list[tuple[float, int]]:
    """One minute's published values (value, count), ascending, from which the emulator computes each statistic in
    `values` as CloudWatch answered it: SampleCount as their count, Sum as their sum, Average as their mean,
    Minimum and Maximum as the first and last, pNN as the nearest-rank percentile (emulator/cloudwatch.py).

    The count is the SampleCount, else Sum / Average, else 100 (1,000 or 10,000 when two percentiles would share a
    rank). Each statistic that is a value of the ordered samples is pinned at its rank; the samples between two
    pinned ranks take the upper one's value, then those not pinned move (within their neighbours' values, above
    0 if no value read is negative) until the mean is the Average (or the sum the Sum). Values CloudWatch answered
    that no samples can hold at once (a p50 above the p99, an Average below the Minimum) are kept as near as the
    order allows. Statistics the emulator does not compute (trimmed means and the like) are left out."""
    ranks = sorted(
        (float(match.group(1)), value) for stat, value in values.items() if (match := PERCENTILE.match(stat)) is not None
    )
    size, total = _size(values, ranks)
    pinned: dict[int, float] = {}
    if "Minimum" in values:
        pinned[1] = values["Minimum"]
    for rank, value in ranks:
        pinned.setdefault(_rank(rank, size), value)
    if "Maximum" in values:
        pinned.setdefault(size, values["Maximum"])
    floor = min(0.0, *values.values())
    runs = _runs(pinned, size, floor)
    if total is not None:
        _fit(runs, total)
    samples: list[tuple[float, int]] = []
    for first, last, _, _, value in runs:
        if samples and samples[-1][0] == value:
            samples[-1] = (value, samples[-1][1] + int(last - first) + 1)
        else:
            samples.append((value, int(last - first) + 1))
    return samples


def _size(values: dict[str, float], ranks: list[tuple[float, float]]) -> tuple[int, float | None]:
    """How many samples a minute holds, and their sum if a statistic read says it."""
    count, total, average = values.get("SampleCount"), values.get("Sum"), values.get("Average")
    if count is None and total is not None and average:
        count = total / average
    if count is not None:
        size = max(1, round(count))
    else:
        size = next((n for n in (100, 1_000) if len({_rank(r, n) for r, _ in ranks}) == len({r for r, _ in ranks})), 10_000)
    if total is None and average is not None:
        total = average * size
    return size, total


def _runs(pinned: dict[int, float], size: int, floor: float) -> list[list[float]]:
    """The samples as runs [first position, last position, lowest, highest, value]: each pinned rank alone, the
    samples below it at its value (they may go down to the rank below it, or `floor`), those above the highest rank
    at its value (they may go up without bound). Pinned values are kept ascending."""
    runs: list[list[float]] = []
    previous, below = 0, floor
    for position, value in sorted(pinned.items()):
        value = max(value, below)
        if position > previous + 1:
            runs.append([previous + 1, position - 1, below, value, value])
        runs.append([position, position, value, value, value])
        previous, below = position, value
    if previous < size:
        runs.append([previous + 1, size, below, math.inf, below])
    return runs


def _fit(runs: list[list[float]], total: float) -> None:
    """Moves the runs that are free to move until the samples sum to `total`, or as near as their bounds allow."""
    free = [run for run in runs if run[2] != run[3]]
    missing = total - sum((run[1] - run[0] + 1) * run[4] for run in runs)
    if missing > 0 and free and math.isinf(free[-1][3]):  # the samples above the highest rank
        top = free[-1]
        top[4] += missing / (top[1] - top[0] + 1)
    elif missing < 0:
        room = sum((run[1] - run[0] + 1) * (run[4] - run[2]) for run in free)
        share = min(1.0, -missing / room) if room else 0.0
        for run in free:
            run[4] -= share * (run[4] - run[2])


def _rank(rank: float, size: int) -> int:
    """The 1-based position of the nearest-rank pNN among `size` ordered samples."""
    return max(math.ceil(rank / 100 * size), 1)
