"""EnsureLattice (LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent


class EnsureLatticeEvent(HandlerEvent):
    """One step of converging the topology: the tasks' ingress from Lattice, the service network, every target group,
    or one service."""

    kind: Literal["ingress", "network", "targetGroups", "service"]
    ingress: list[dict[str, Any]] | None = None
    network: dict[str, Any] | None = None
    targetGroups: list[dict[str, Any]] | None = None
    service: dict[str, Any] | None = None
    networkId: str | None = None
    groupIds: dict[str, str] | None = None
    hostedZones: dict[str, str] | None = None
