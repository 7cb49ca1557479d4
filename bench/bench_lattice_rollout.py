"""Benchmark of the guide's scenario moved onto VPC Lattice (LatticeRolloutStateMachine) offline: states, Lambda
invocations, AWS calls (mutating and read) of the first run, a plan-mode run and a re-run.

Run with `make bench`. Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench_reference import table
from mesh_rollout_local.runner import MUTATING, OfflineAccount

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    given = json.loads((ROOT / "events" / "local" / "lattice-rollout-given.json").read_text())
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        account.apply_given(given, ROOT / "events" / "local")
        rollout = json.loads(account.resolve_input((ROOT / "events" / "lattice-rollout-apps.json").read_text()))
        runs = [
            ("plan mode (nothing changes)", account.run("LatticeRolloutStateMachine", {**rollout, "mode": "plan"})),
            ("first run (creates everything)", account.run("LatticeRolloutStateMachine", rollout)),
            ("second run (unchanged world)", account.run("LatticeRolloutStateMachine", rollout)),
        ]
    print("The guide's mesh on VPC Lattice (events/lattice-rollout-apps.json, lattice-rollout-given.json), offline")
    for label, result in runs:
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        mutating = sum(n for (_, op), n in result.api_calls.items() if MUTATING.match(op))
        print(f"\n  {label}: {result.status} in {result.seconds:.2f} s")
        print(f"    states entered:      {len(result.states)}")
        print(f"    Lambda invocations:  {result.lambda_invocations}")
        print(f"    AWS calls:           {sum(result.api_calls.values())} ({mutating} mutating)")
        print("    calls by operation:")
        print("\n".join(table(result.api_calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
