"""Benchmark of one canary weight shift offline, per traffic backend (App Mesh, VPC Lattice, ALB): states,
Lambda invocations, reads and writes of the traffic API per step, AWS calls, cost.

Run with `make bench`. Numbers are printed, never asserted. The cost uses list prices (us-east-1,
as published when this was written; check the pricing pages before relying on them):
  Step Functions Standard: USD 0.025 per 1,000 state transitions (every state entered counts)
  Lambda (arm64): USD 0.20 per 1M requests + USD 0.0000133334 per GB-second
Wait states cost one transition however long they wait, so bake times and approval waits are free.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from bench_reference import table
from mesh_rollout_local.report import segments
from mesh_rollout_local.runner import OfflineAccount

ROOT = Path(__file__).resolve().parent.parent
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000133334
MEMORY_GB = 256 / 1024
BILLED_SECONDS = 0.3  # assumed average billed duration of a handler on AWS (a few API calls each)


BACKENDS = {
    "App Mesh": ("weight-shift-apps.json", "weight-shift-given.json", "serviceB 75 / serviceBv2 25"),
    "VPC Lattice": ("weight-shift-lattice.json", "lattice-given.json", "serviceb 75 / servicebv2 25"),
    "ALB": ("weight-shift-alb.json", "alb-given.json", "serviceB 75 / serviceBv2 25"),
}


def cost(states: int, invocations: int) -> tuple[float, float]:
    lambda_cost = invocations * (LAMBDA_PER_REQUEST + MEMORY_GB * BILLED_SECONDS * LAMBDA_PER_GB_SECOND)
    return states * SFN_PER_TRANSITION, lambda_cost


def bench(backend: str) -> None:
    input_file, given_file, start = BACKENDS[backend]
    given = json.loads((ROOT / "events" / "local" / given_file).read_text())
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        account.apply_given(given, ROOT / "events" / "local")
        shift = json.loads(account.resolve_input((ROOT / "events" / input_file).read_text()))
        shift["steps"] = [50, 75, 100]  # three steps from the guide's 75/25, approval before 100
        result = account.run("WeightShiftStateMachine", shift, approver=lambda pending: (True, "bench"))
        again = account.run("WeightShiftStateMachine", shift)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    print(f"\n{backend}: canary weight shift (events/{input_file} with steps [50, 75, 100]), offline")
    print(f"  {start} -> 50 -> 75 -> 100, approval before 100: {result.status} in {result.seconds:.2f} s")
    print(f"\n  {'segment':<46} {'states':>6} {'Lambda':>7} {'traffic reads':>13} {'traffic writes':>14} {'other AWS calls':>15}")
    parts = segments(
        result, "before the steps (plan, lock, snapshot)", "after the steps (finalize, release, notify)", "GroupSteps"
    )
    for part in parts:
        print(
            f"  {part.name:<46} {len(part.states):>6} {part.invocations:>7} {part.traffic_reads:>13} "
            f"{part.traffic_writes:>14} {part.other_calls:>15}"
        )
    states, invocations = len(result.states), result.lambda_invocations
    print(f"  {'total':<46} {states:>6} {invocations:>7} {sum(result.api_calls.values()):>44} AWS calls")
    for part in parts[1:-1]:
        print(f"  {part.name}: {' -> '.join(part.states)}")
    print("\n  AWS calls by operation:")
    print("\n".join(table(Counter(result.api_calls))))
    sfn_cost, lambda_cost = cost(states, invocations)
    print(
        f"\n  cost of this 3-step rollout: Step Functions {states} transitions x USD 0.000025 = USD {sfn_cost:.6f}; "
        f"Lambda {invocations} requests at 256 MB x {BILLED_SECONDS} s = USD {lambda_cost:.6f}; "
        f"total USD {sfn_cost + lambda_cost:.6f} (about USD {1000 * (sfn_cost + lambda_cost):.2f} per 1,000 rollouts)"
    )
    print(
        f"  re-run of the finished shift: {again.output['status']}, {len(again.states)} states, {again.lambda_invocations} Lambda"
    )


def main() -> int:
    for backend in sys.argv[1:] or BACKENDS:
        bench(backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
