"""Benchmark of `mesh-rollout local`'s live printer against the offline runner alone: the same generated mesh
(scenarios.mesh_of(50) in its given world), each run in a fresh emulated account, alternately with the runner
alone (OfflineAccount.run, the history read once at the end) and as the CLI runs it (cli.run_live: each state
printed as it happens, here to a null stream, and its approver). Also the GetExecutionHistory calls each made
and the events they returned, and the CPU time of the process (moto runs the execution in threads of it): wall
times vary with whatever else the machine runs, CPU times much less.

Run with `make bench` (about 4 minutes on 2 cores). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from typing import Any

from mesh_rollout_local import cli
from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.scenarios import ROOT, mesh_of

LIMIT = 1.1  # issue 13: `mesh-rollout local` at most 1.1 times the runner alone
STATE_MACHINE = "MeshRolloutStateMachine"


def timed_run(live: bool, rollout: dict[str, Any], given: list[dict[str, Any]]) -> tuple[float, float, str, int, int, int]:
    """(wall and CPU seconds of the run, its status, events in its history, GetExecutionHistory calls, events they returned)."""
    reads = {"calls": 0, "events": 0}

    def count(parsed: dict[str, Any], **_: Any) -> None:
        reads["calls"] += 1
        reads["events"] += len(parsed.get("events", []))

    with open(os.devnull, "w") as null, OfflineAccount(ROOT / "template.yaml", handler_output=null) as account:
        account.apply_given(given)
        assert account.session is not None
        account.session.events.register("after-call.sfn.GetExecutionHistory", count)
        execution_input = json.dumps(rollout)
        started, cpu = time.perf_counter(), time.process_time()
        if live:  # what `mesh-rollout local` calls, with its approver (no terminal: it would reject)
            args = cli.parser().parse_args(["local", STATE_MACHINE, "--input", "-"])
            approver = cli.local_approver(args, null, io.StringIO())
            result = cli.run_live(account, STATE_MACHINE, execution_input, approver, null)
        else:
            result = account.run(STATE_MACHINE, execution_input)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, result.status, len(result.history), reads["calls"], reads["events"]


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--services", type=int, default=50)
    options.add_argument("--pairs", type=int, default=5)
    args = options.parse_args()
    rollout, given = mesh_of(args.services)
    print(f"mesh-rollout local vs the runner alone: {STATE_MACHINE}, mesh_of({args.services}), each run in a fresh account")
    print(
        f"  {'pair':<5} {'runner alone':>13} {'live printer':>13} {'ratio':>6}   {'CPU alone':>9} {'CPU live':>9} {'ratio':>6}"
        "   history reads (calls / events returned)"
    )
    ratios, cpu_ratios = [], []
    for pair in range(1, args.pairs + 1):
        order = (False, True) if pair % 2 else (True, False)  # alternate which one goes first
        runs = {live: timed_run(live, rollout, given) for live in order}
        alone, alone_cpu, alone_status, events, *alone_reads = runs[False]
        live, live_cpu, live_status, _, *live_reads = runs[True]
        ratios.append(live / alone)
        cpu_ratios.append(live_cpu / alone_cpu)
        statuses = "" if alone_status == live_status == "SUCCEEDED" else f"  (status {alone_status} / {live_status})"
        print(
            f"  {pair:<5} {alone:>11.2f} s {live:>11.2f} s {live / alone:>6.3f}   "
            f"{alone_cpu:>7.2f} s {live_cpu:>7.2f} s {live_cpu / alone_cpu:>6.3f}   "
            f"alone {alone_reads[0]} / {alone_reads[1]}, live {live_reads[0]} / {live_reads[1]} "
            f"({events} events in the history){statuses}",
            flush=True,
        )
    median = statistics.median(ratios)
    verdict = "within" if median <= LIMIT else "ABOVE"
    print(
        f"  median ratio {median:.3f} (CPU {statistics.median(cpu_ratios):.3f}) over {len(ratios)} pairs: "
        f"{verdict} the {LIMIT} limit"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
