"""The --given worlds under events/local, read as files (no emulated account): what a gate reading them depends on."""

from __future__ import annotations

from tests.conftest import EVENTS, load_json


def test_the_given_worlds_publish_their_metrics_in_the_past_not_in_the_second_the_gate_reads_them() -> None:
    """CloudWatch's EndTime excludes its own second: a datapoint put "now" is missed by a gate that reads in the same
    second, which made the gate PENDING or UNHEALTHY at random under load. Every given datapoint is a minute old."""
    for name in ("lattice-given.json", "alb-given.json"):
        for call in (c for c in load_json(EVENTS / "local" / name) if c.get("operation") == "put_metric_data"):
            stamps = [d.get("Timestamp", "") for d in call["params"]["MetricData"]]
            assert all(s.startswith("{{given:now-") and 60 <= int(s[12:-2]) < 240 for s in stamps), (name, stamps)
