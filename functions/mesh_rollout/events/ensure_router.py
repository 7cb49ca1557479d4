"""EnsureVirtualRouter / EnsureRoute (MeshRolloutStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent


class EnsureRouterEvent(HandlerEvent):
    kind: Literal["virtualRouter", "route"]
    request: dict[str, Any]
