"""EnsureMesh / EnsureVirtualService (MeshRolloutStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent


class EnsureMeshEvent(HandlerEvent):
    """The mesh, or one virtual service (as a provider-less placeholder, or with its final spec)."""

    kind: Literal["mesh", "virtualService"]
    request: dict[str, Any]
    placeholder: bool = False
