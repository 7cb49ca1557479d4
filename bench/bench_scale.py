"""Scale of the mesh rollout offline: N = 10, 100 and 500 ECS services, each with its virtual node and virtual
service, and N/2 routers with a route each (local/mesh_rollout_local/scenarios.py `mesh_of`).

For each N, a first run (creates everything) and a re-run (nothing to do): wall time, states entered, Lambda
invocations, AWS calls (mutating ones apart), history events (the rollout's own, the largest of a service's
execution, all together), the largest state payload and the cost at list prices. Deployments here are seen
IN_PROGRESS once; the second table shows what "realistic polling" does: the same rollout with every deployment
seen IN_PROGRESS by 116 checks (a 29-minute deployment checked every 15 s, the default `deploymentPollSeconds`,
just inside the default 30-minute `deploymentTimeoutSeconds`),
measured at N = 10 and compared with the run above: a service's own history grows with its checks, the
rollout's does not. The limits checked against: 25,000 events per execution history, 256 KiB per state
input or output (and per execution input).

Run with `make bench` (about 4 minutes on 2 cores), or `python bench/bench_scale.py 10 100` for fewer sizes.
Numbers are printed, never asserted. Prices (us-east-1, list prices when this was written; check the pricing
pages before relying on them): Step Functions Standard USD 0.025 per 1,000 state transitions; Lambda (arm64)
USD 0.20 per 1M requests + USD 0.0000133334 per GB-second, at 256 MB and an assumed 0.3 s billed per invocation;
DynamoDB on-demand reads (one per service, the stop flag) are below a thousandth of a cent and left out.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from bench_reference import mutating_calls
from mesh_rollout_local.runner import OfflineAccount, RunResult
from mesh_rollout_local.scenarios import ROOT, mesh_of

HISTORY_LIMIT = 25_000
PAYLOAD_LIMIT = 256 * 1024
REALISTIC_CHECKS = 116  # 29 minutes / 15 s: 120 checks would reach the default timeout and roll back
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_INVOCATION = 0.20 / 1_000_000 + 0.0000133334 * (256 / 1024) * 0.3


def largest_payload(history: list[dict[str, Any]]) -> int:
    """The largest input or output (bytes of JSON) of any state or task in the history."""
    largest = 0
    for event in history:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output"):
                    if isinstance(details.get(field), str):
                        largest = max(largest, len(details[field].encode()))
    return largest


def after_validation(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rollout's events once ValidateRollout (which reads the whole execution input) has ended."""
    ended = next(i for i, e in enumerate(history) if e["type"] == "TaskStateExited")
    return history[ended + 1 :]


def measure(result: RunResult, sent: str) -> dict[str, Any]:
    children = [len(c["history"]) for c in result.children]
    histories = [result.history, *(c["history"] for c in result.children)]
    return {
        "status": result.status,
        "seconds": result.seconds,
        "states": len(result.states),
        "invocations": result.lambda_invocations,
        "calls": sum(result.api_calls.values()),
        "mutating": mutating_calls(result.api_calls),
        "parent_events": len(result.history),
        "child_events": max(children, default=0),
        "all_events": sum(len(h) for h in histories),
        "executions": 1 + len(children),
        "input": len(sent.encode()),
        "payload": max(largest_payload(h) for h in histories),
        "payload_after_input": max(largest_payload(h) for h in [after_validation(result.history), *histories[1:]]),
        "cost": len(result.states) * SFN_PER_TRANSITION + result.lambda_invocations * LAMBDA_PER_INVOCATION,
    }


def run(n: int, checks: int = 1) -> list[dict[str, Any]]:
    rollout, given = mesh_of(n, routes=n // 2, in_progress_checks=checks)
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        account.apply_given(given)
        text = json.dumps(rollout, separators=(",", ":"))  # as compact as a client would send it
        return [measure(account.run("MeshRolloutStateMachine", text, timeout=3600), text) for _ in ("first", "again")]


def kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


# The columns of a measured run that both benches print (bench_lattice_rollout too): what it took, what it ran
RUN_HEADER = f"{'wall':>7} {'states':>7} {'invoc.':>7} {'calls':>6} {'mutat.':>6} {'rollout ev.':>11} {'max svc ev.':>11}"


def run_cells(m: dict[str, Any]) -> str:
    """A measured run (`measure`) under RUN_HEADER."""
    return (
        f"{m['seconds']:>6.1f}s {m['states']:>7} {m['invocations']:>7} {m['calls']:>6} {m['mutating']:>6} "
        f"{m['parent_events']:>11} {m['child_events']:>11}"
    )


def unless_succeeded(m: dict[str, Any]) -> str:
    """The run's status after its row, when it did not succeed."""
    return "" if m["status"] == "SUCCEEDED" else f"  {m['status']}"


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10, 100, 500]
    print("Mesh rollout at scale (N services, N/2 routes), offline; limits: 25,000 history events, 256 KiB payload")
    print(f"  {'N':>4} {'run':<6} {RUN_HEADER} {'all ev.':>8} {'input':>10} {'max payload':>11} {'cost USD':>9}")
    measured: dict[int, dict[str, Any]] = {}
    for n in sizes:
        started = time.perf_counter()
        first, again = run(n)
        for label, m in (("first", first), ("re-run", again)):
            print(
                f"  {n:>4} {label:<6} {run_cells(m)} {m['all_events']:>8} "
                f"{kib(m['input']):>10} {kib(m['payload_after_input']):>11} {m['cost']:>9.4f}" + unless_succeeded(m)
            )
        measured[n] = first
        print(f"       (N = {n}: {time.perf_counter() - started:.0f} s with the account's set-up)", flush=True)
    print(
        "  input: the execution input (the largest payload of all, read once by ValidateRollout); max payload: the\n"
        "  largest state input or output after it, in the rollout and in every service's execution."
    )

    base = measured.get(10) or run(10)[0]
    started = time.perf_counter()
    realistic, _ = run(10, REALISTIC_CHECKS)
    per_service = (realistic["states"] - base["states"]) / 10, (realistic["invocations"] - base["invocations"]) / 10
    print(
        f"\nRealistic polling: every deployment seen IN_PROGRESS by {REALISTIC_CHECKS} checks (29 min at 15 s), "
        f"N = 10, measured ({time.perf_counter() - started:.0f} s): {realistic['status']}"
    )
    for label, key in (("rollout's own history:    ", "parent_events"), ("largest service's history:", "child_events")):
        print(f"  {label}    {base[key]} events with 1 check, {realistic[key]} with {REALISTIC_CHECKS}")
    print(f"  each service adds:            {per_service[0]:.0f} states and {per_service[1]:.0f} Lambda invocations")
    for n, m in measured.items():
        parent = m["parent_events"] + (realistic["parent_events"] - base["parent_events"])
        states = m["states"] + per_service[0] * n
        invocations = m["invocations"] + per_service[1] * n
        cost = states * SFN_PER_TRANSITION + invocations * LAMBDA_PER_INVOCATION
        print(
            f"  N = {n:>3}: rollout history {parent} events ({parent / HISTORY_LIMIT:.0%} of the limit), each service's "
            f"{realistic['child_events']}; {states:.0f} states, {invocations:.0f} invocations, USD {cost:.2f} "
            "(measured run above + N x the measured per-service increase)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
