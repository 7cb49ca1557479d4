"""Benchmark of the statistical judge (healthGate.compare): AWS calls it adds per gate check, and the Lambda time
its statistics take per check. Run with `make bench`; numbers are printed, never asserted."""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from mesh_rollout_local.runner import OfflineAccount

ROOT = Path(__file__).resolve().parent.parent


def calls_per_check(compare: bool) -> tuple[float, int]:
    """(AWS calls per CanaryHealth invocation, gate checks) of a 2-step Lattice shift."""
    given = json.loads((ROOT / "events" / "local" / "lattice-given.json").read_text())
    shift = json.loads((ROOT / "events" / "weight-shift-lattice.json").read_text())
    shift.pop("approval")
    shift["bakeSeconds"] = 900
    if compare:
        metrics = [{"id": "errorRate", "preset": "errorRate"}, {"id": "latency", "preset": "latency"}]
        shift["healthGate"]["compare"] = {"metrics": metrics, "minPoints": 1}
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        account.apply_given(given, ROOT / "events" / "local")
        result = account.run("WeightShiftStateMachine", shift)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    checks = result.states.count("CheckLegs")
    gate_calls = Counter(op for invocation in result.invocation_calls for service, op in invocation if service == "cloudwatch")
    return gate_calls["GetMetricData"] / max(checks, 1), checks


def statistics_time(points: int, metrics: int, rounds: int = 200) -> float:
    from mesh_rollout.shifting.judge import judge_metric  # on the path once the runner is imported

    rng = random.Random(7)
    canary = [[rng.gauss(1.0, 0.2) for _ in range(points)] for _ in range(metrics)]
    stable = [[rng.gauss(0.9, 0.2) for _ in range(points)] for _ in range(metrics)]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for c, s in zip(canary, stable, strict=True):
            judge_metric("m", c, s, "higherIsWorse", 0.05, 0.1, 5)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> int:
    print("Statistical judge (healthGate.compare), offline")
    without, checks = calls_per_check(False)
    with_judge, _ = calls_per_check(True)
    print(f"  weight shift on Lattice, 2 steps, {checks} gate checks: GetMetricData calls per check {without:.1f} without")
    print(f"  the judge (the threshold presets), {with_judge:.1f} with it (2 metrics x 2 sides in one more call)")
    print("  the judge's statistics per gate check (median of 200, this machine):")
    for points in (5, 15, 60):
        for metrics in (2, 10):
            print(f"    {points:>3} periods per side, {metrics:>2} metrics: {statistics_time(points, metrics):8.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
