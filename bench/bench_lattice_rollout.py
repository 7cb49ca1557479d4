"""Benchmark of the move onto VPC Lattice (LatticeRolloutStateMachine) offline.

The guide's scenario: states, Lambda invocations, AWS calls (mutating and read) of the first run, a plan-mode run
and a re-run. Then N ECS services (default 100; `python bench/bench_lattice_rollout.py 100`): the mesh of
local/mesh_rollout_local/scenarios.py `mesh_of` (N services, each with its virtual node and virtual service; no
routers), put on App Mesh by the mesh rollout first (as a given world, not measured), then moved onto Lattice:
wall time, states entered, Lambda invocations, AWS calls, history events (the rollout's own, the largest of a
service's execution), executions and the cost at list prices, for the first run and a re-run.

Run with `make bench`. Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from bench_reference import counted, table
from bench_scale import RUN_HEADER, measure, run_cells, unless_succeeded
from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.scenarios import mesh_of

ROOT = Path(__file__).resolve().parent.parent
SM = "LatticeRolloutStateMachine"


def guide() -> None:
    given = json.loads((ROOT / "events" / "local" / "lattice-rollout-given.json").read_text())
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        account.apply_given(given, ROOT / "events" / "local")
        rollout = json.loads(account.resolve_input((ROOT / "events" / "lattice-rollout-apps.json").read_text()))
        runs = [
            ("plan mode (nothing changes)", account.run(SM, {**rollout, "mode": "plan"})),
            ("first run (creates everything)", account.run(SM, rollout)),
            ("second run (unchanged world)", account.run(SM, rollout)),
        ]
    print("The guide's mesh on VPC Lattice (events/lattice-rollout-apps.json, lattice-rollout-given.json), offline")
    for label, result in runs:
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        print(f"\n  {label}: {result.status} in {result.seconds:.2f} s")
        print("\n".join(counted(result)))
        print("    calls by operation:")
        print("\n".join(table(result.api_calls)))


def lattice_world(account: OfflineAccount, n: int) -> dict[str, Any]:
    """N services on App Mesh (the mesh rollout's run), the ECS infrastructure role and the zone apps.local (as in
    lattice-rollout-given.json); returns the LatticeRolloutStateMachine input."""
    rollout, given = mesh_of(n)
    account.apply_given(given)
    meshed = account.run("MeshRolloutStateMachine", rollout, timeout=3600)
    assert meshed.status == "SUCCEEDED", (meshed.error, meshed.cause)
    lattice_given = json.loads((ROOT / "events" / "local" / "lattice-rollout-given.json").read_text())
    account.apply_given([call for call in lattice_given if "service" in call])
    section = json.loads(account.resolve_input((ROOT / "events" / "lattice-rollout-apps.json").read_text()))["lattice"]
    return {**rollout, "lattice": section}


def at_scale(n: int) -> None:
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        rollout = lattice_world(account, n)
        text = json.dumps(rollout, separators=(",", ":"))
        first, again = (measure(account.run(SM, text, timeout=3600), text) for _ in ("first", "again"))
    print(f"\n{n} ECS services moved from App Mesh onto VPC Lattice (scenarios.mesh_of, no routers), offline")
    print(f"  {'run':<6} {RUN_HEADER} {'executions':>10} {'max payload':>11} {'cost USD':>9}")
    for label, m in (("first", first), ("re-run", again)):
        print(
            f"  {label:<6} {run_cells(m)} {m['executions']:>10} "
            f"{m['payload_after_input'] / 1024:>7.1f} KiB {m['cost']:>9.4f}" + unless_succeeded(m)
        )


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]]
    if not sizes:
        guide()
    for n in sizes or [100]:
        at_scale(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
