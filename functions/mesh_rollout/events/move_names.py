"""MoveNames (LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent


class MoveNamesEvent(HandlerEvent):
    """read: what the services' names hold before any change; move: point them at their Lattice services once the
    ECS services are on them; putBack: give them what `names` (read's result) says they held, after `failure`."""

    kind: Literal["read", "move", "putBack"]
    services: list[dict[str, Any]] | None = None
    hostedZones: dict[str, str] | None = None
    domains: list[dict[str, Any]] | None = None
    ecsServices: list[dict[str, Any]] | None = None
    results: list[dict[str, Any]] | None = None
    names: list[dict[str, Any]] | None = None
    failure: dict[str, Any] | None = None
