"""The compact `metrics` entry of a --given world: the put_metric_data calls it stands for (given.metric_calls)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout_local.given import metric_calls
from mesh_rollout_local.references import GivenError

CANARY = [{"Name": "TargetGroup", "Value": "{{given:checkoutV2Group.id}}"}]


def entry(**spec: Any) -> dict[str, Any]:
    return {"metrics": {"Namespace": "AWS/VpcLattice", "Dimensions": CANARY, **spec}}


def test_each_datum_once_a_minute_the_oldest_first_the_newest_90_s_ago() -> None:
    data = [{"MetricName": "TotalRequestCount", "Value": 600, "Unit": "Count"}, {"MetricName": "RequestTime", "Value": 40}]
    [call] = metric_calls(entry(minutes=3, MetricData=data))
    assert (call["service"], call["operation"], call["params"]["Namespace"]) == (
        "cloudwatch",
        "put_metric_data",
        "AWS/VpcLattice",
    )
    stamped = [(d["MetricName"], d["Timestamp"]) for d in call["params"]["MetricData"]]
    assert stamped == [
        ("TotalRequestCount", "{{given:now-210}}"),
        ("RequestTime", "{{given:now-210}}"),
        ("TotalRequestCount", "{{given:now-150}}"),
        ("RequestTime", "{{given:now-150}}"),
        ("TotalRequestCount", "{{given:now-90}}"),
        ("RequestTime", "{{given:now-90}}"),
    ]
    first = call["params"]["MetricData"][0]
    assert first == {
        "MetricName": "TotalRequestCount",
        "Value": 600,
        "Unit": "Count",
        "Dimensions": CANARY,
        "Timestamp": "{{given:now-210}}",
    }


def test_a_datum_keeps_its_own_dimensions_and_values_counts_and_the_newest_age_is_settable() -> None:
    own = [{"Name": "TargetGroup", "Value": "tg-1"}]
    latency = {"MetricName": "RequestTime", "Values": [40, 900], "Counts": [99, 1], "Dimensions": own}
    [call] = metric_calls(entry(newestSecondsAgo=30, MetricData=[latency]))
    assert call["params"]["MetricData"] == [{**latency, "Timestamp": "{{given:now-30}}"}]


def test_more_than_a_thousand_datapoints_go_in_several_calls() -> None:
    data = [{"MetricName": f"m{i}", "Value": i} for i in range(30)]
    calls = metric_calls(entry(minutes=40, MetricData=data))
    assert [len(c["params"]["MetricData"]) for c in calls] == [1000, 200]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"MetricData": [{"MetricName": "x", "Value": 1}], "minute": 5}, "metrics has no minute"),
        ({"MetricData": []}, "metrics needs MetricData"),
        ({"MetricData": [{"MetricName": "x", "Value": 1}], "minutes": 0}, "minutes must be a whole number"),
        ({"MetricData": [{"MetricName": "x", "Value": 1, "Timestamp": "{{given:now-60}}"}]}, "x: no Timestamp here"),
    ],
)
def test_a_mistake_names_the_entry(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(GivenError, match=f"^--given entry 3: .*{message}"):
        metric_calls(entry(**spec), "--given entry 3")


def test_no_namespace_is_a_mistake() -> None:
    with pytest.raises(GivenError, match="needs a Namespace"):
        metric_calls({"metrics": {"MetricData": [{"MetricName": "x", "Value": 1}]}})
