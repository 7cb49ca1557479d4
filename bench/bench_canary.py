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
from typing import Any

from bench_reference import table
from mesh_rollout_local.runner import OfflineAccount, RunResult

ROOT = Path(__file__).resolve().parent.parent
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000133334
MEMORY_GB = 256 / 1024
BILLED_SECONDS = 0.3  # assumed average billed duration of a handler on AWS (a few API calls each)


def segments(result: RunResult) -> list[tuple[str, int, int, Counter[str]]]:
    """(segment, states entered, Lambda invocations, traffic API reads/writes and other AWS calls): before the
    steps, each step, after the steps. Invocations run one at a time, in the order the history schedules them."""
    rows: list[list[Any]] = [["before the steps (plan, lock, snapshot)", 0, 0, Counter()]]
    calls = iter(result.invocation_calls)
    step = 0
    for event in result.history:
        if event["type"].endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if name == "NeedsApproval":
                step += 1
                rows.append([f"step {step}", 0, 0, Counter()])
            elif name == "FinalizeWanted":
                rows.append(["after the steps (finalize, release, notify)", 0, 0, Counter()])
            rows[-1][1] += 1
        elif event["type"] in ("LambdaFunctionScheduled", "TaskScheduled"):
            rows[-1][2] += 1
            rows[-1][3].update(kind(service, operation) for service, operation in next(calls, []))
    return [(str(r[0]), int(r[1]), int(r[2]), r[3]) for r in rows]


TRAFFIC_READS = {
    ("appmesh", "DescribeRoute"),
    ("vpc-lattice", "GetRule"),
    ("vpc-lattice", "GetListener"),
    ("elbv2", "DescribeRules"),
    ("elbv2", "DescribeListeners"),
}
TRAFFIC_WRITES = {
    ("appmesh", "UpdateRoute"),
    ("vpc-lattice", "UpdateRule"),
    ("vpc-lattice", "UpdateListener"),
    ("elbv2", "ModifyRule"),
    ("elbv2", "ModifyListener"),
}
BACKENDS = {
    "App Mesh": ("weight-shift-apps.json", "weight-shift-given.json", "serviceB 75 / serviceBv2 25"),
    "VPC Lattice": ("weight-shift-lattice.json", "lattice-given.json", "serviceb 75 / servicebv2 25"),
    "ALB": ("weight-shift-alb.json", "alb-given.json", "serviceB 75 / serviceBv2 25"),
}


def kind(service: str, operation: str) -> str:
    if (service, operation) in TRAFFIC_READS:
        return "traffic reads"
    if (service, operation) in TRAFFIC_WRITES:
        return "traffic writes"
    return "other calls"


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
    print(f"\n  {'segment':<46} {'states':>6} {'Lambda':>7} {'route reads':>11} {'route writes':>12} {'other AWS calls':>15}")
    for name, states, invocations, made in segments(result):
        reads, writes, other = made["traffic reads"], made["traffic writes"], made["other calls"]
        print(f"  {name:<46} {states:>6} {invocations:>7} {reads:>11} {writes:>12} {other:>15}")
    states, invocations = len(result.states), result.lambda_invocations
    print(f"  {'total':<46} {states:>6} {invocations:>7} {sum(result.api_calls.values()):>40} AWS calls")
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
