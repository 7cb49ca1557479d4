"""`mesh-rollout export-given`: a live route as a `--given` world, so a team rehearses its own route offline.

Read-only: every call is a Describe*, Get* or List* (a hook on each client refuses any other before it is sent,
and counts them). From a weight shift's input it reads what the plan reads (functions/mesh_rollout: the traffic
backend's `resolve`, the ECS services registered in the target groups, the gate's metrics) and what the emulator
needs to hold the same route: the rule, listener and load balancer (ALB) or service, listener, rule and service
networks (VPC Lattice), the target groups, the ECS services behind them with their clusters and task definitions,
the VPCs, subnets and security groups those use, the IAM roles they name (same names and trust, no policies),
the alarms the input names (definition and state, no actions) and the last minutes of every metric the gate and
the judge read.

The world is written with the live values, then every identifier the emulator makes up anew (IDs, ARNs, the
metric dimensions made of them) is replaced by a `{{given:NAME.path}}` reference to the given call that creates
it; the input gets the same replacements (an ALB's listener and rule ARNs; a Lattice route named by name needs
none). Not exported: container environments and secrets (values that may be secret), Cloud Map and Service
Connect, listener certificates, alarm actions, security group rules, App Mesh routes."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.export.reads import ExportError, ReadOnlyClients
from mesh_rollout_local.export.world import Exporter

__all__ = ["ExportError", "Exported", "export_given"]


@dataclass
class Exported:
    """The world (given calls), the input with references, and the calls the export made, by operation."""

    world: list[dict[str, Any]]
    execution_input: dict[str, Any]
    calls: Counter[str] = field(default_factory=Counter)
    region: str = ""


def export_given(session: Any, raw: dict[str, Any], minutes: int = 15, now: dt.datetime | None = None) -> Exported:
    """The world and the offline input for the weight-shift input `raw`, read through `session` (read-only)."""
    clients = ReadOnlyClients(session)
    exporter = Exporter(clients, minutes, now or dt.datetime.now(dt.UTC))
    world, execution_input = exporter.export(raw)
    return Exported(world, execution_input, clients.calls, str(session.region_name or ""))
