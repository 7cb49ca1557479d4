"""Benchmark of the reference scenario offline: AWS calls, states, Lambda invocations, wall time.

Run with `make bench`. Numbers are printed, never asserted: timing belongs here, not in tests.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from mesh_rollout_local.runner import MUTATING, OfflineAccount, RunResult

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5


def table(calls: Counter[tuple[str, str]]) -> list[str]:
    rows = []
    for (service, operation), count in sorted(calls.items(), key=lambda item: (not MUTATING.match(item[0][1]), item[0])):
        kind = "mutating" if MUTATING.match(operation) else "read"
        rows.append(f"    {kind:<9} {service + ':' + operation:<36} {count:>4}")
    return rows


def mutating_calls(api_calls: Counter[tuple[str, str]]) -> int:
    """How many of a run's AWS calls (counted by service and operation) change something."""
    return sum(n for (_, op), n in api_calls.items() if MUTATING.match(op))


def counted(result: RunResult) -> list[str]:
    """What a run did, as the benches of one scenario print it: states, Lambda invocations and AWS calls."""
    return [
        f"    states entered:      {len(result.states)}",
        f"    Lambda invocations:  {result.lambda_invocations}",
        f"    AWS calls:           {sum(result.api_calls.values())} ({mutating_calls(result.api_calls)} mutating)",
    ]


def main() -> int:
    scenario = json.loads((ROOT / "events" / "mesh-rollout-apps.json").read_text())
    given = json.loads((ROOT / "events" / "local" / "apps-given.json").read_text())
    walls: dict[int, list[float]] = {1: [], 2: []}
    setups = []
    last = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
            account.apply_given(given, ROOT / "events" / "local")
            setups.append(time.perf_counter() - started)
            last = [account.run("MeshRolloutStateMachine", scenario) for _ in (1, 2)]
            for result in last:
                assert result.status == "SUCCEEDED", (result.error, result.cause)
                walls[result.run].append(result.seconds)
    print(f"Reference scenario (events/mesh-rollout-apps.json on events/local/apps-given.json), {ROUNDS} rounds, offline")
    print(f"  account set-up (deploy template + given world): median {statistics.median(setups):.2f} s")
    for result in last:
        label = "first run (creates everything)" if result.run == 1 else "second run (unchanged world)"
        print(f"\n  {label}")
        print("\n".join(counted(result)))
        print(
            f"    wall time:           median {statistics.median(walls[result.run]):.2f} s "
            f"(min {min(walls[result.run]):.2f}, max {max(walls[result.run]):.2f})"
        )
        print("    calls by operation:")
        print("\n".join(table(result.api_calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
