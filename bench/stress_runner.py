"""Stress check of the offline runner: a Map-heavy input (100 services, 50 routes: every Map at its
MaxConcurrency) run 20 times, each in a fresh emulated account, with a thread reading os.environ all along
(as botocore does when moto's workers build clients). Any run that does not succeed is a failure.

Run with `make stress` (about 8 minutes on 2 cores). Exit code 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.scenarios import ROOT, mesh_of


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--services", type=int, default=100)
    options.add_argument("--runs", type=int, default=20)
    args = options.parse_args()
    rollout, given = mesh_of(args.services, routes=args.services // 2)
    failures = 0
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        problems: list[str] = []
        done = threading.Event()

        def read_environment(done: threading.Event = done, problems: list[str] = problems) -> None:
            while not done.is_set():
                try:
                    os.environ.copy()
                except Exception as exc:  # the race this check exists for
                    problems.append(repr(exc))
                time.sleep(0.0005)

        with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:  # type: ignore[arg-type]
            account.apply_given(given)
            reader = threading.Thread(target=read_environment, daemon=True)
            reader.start()
            try:
                result = account.run("MeshRolloutStateMachine", rollout, timeout=1800)
            finally:
                done.set()
                reader.join()
        ok = result.status == "SUCCEEDED" and not problems
        failures += not ok
        detail = "" if ok else f" {result.error}: {(result.cause or '')[:300]} {problems[:3]}"
        print(
            f"run {run:2}/{args.runs}: {result.status:9} {len(result.states)} states, "
            f"{result.lambda_invocations} invocations, {time.perf_counter() - started:5.1f} s{detail}",
            flush=True,
        )
    print(f"{args.runs - failures}/{args.runs} runs succeeded ({args.services} services, {args.services // 2} routes)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
