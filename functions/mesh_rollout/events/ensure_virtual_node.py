"""EnsureVirtualNode (MeshRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class EnsureVirtualNodeEvent(HandlerEvent):
    request: dict[str, Any]
