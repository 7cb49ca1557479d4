"""EnsureLattice (LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent


class EnsureLatticeEvent(HandlerEvent):
    """One step of converging the topology: the service network, every target group, or one service."""

    kind: Literal["network", "targetGroups", "service"]
    network: dict[str, Any] | None = None
    targetGroups: list[dict[str, Any]] | None = None
    service: dict[str, Any] | None = None
    networkId: str | None = None
    groupIds: dict[str, str] | None = None
    hostedZones: dict[str, str] | None = None
