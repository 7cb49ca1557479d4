"""FinishMeshRollout (MeshRolloutStateMachine, LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any, Literal

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class FinishMeshRolloutEvent(HandlerEvent):
    """What each ECS service's execution ended with, in input order, the key of the rollout's stop flag and where the
    rollout puts services (what the cause calls the place of those already there)."""

    results: list[dict[str, Any]]
    stopKey: str = field(min_length=1)
    destination: Literal["the mesh", "VPC Lattice"] = "the mesh"
