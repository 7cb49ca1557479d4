"""FinishMeshRollout (MeshRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class FinishMeshRolloutEvent(HandlerEvent):
    """What each ECS service's execution ended with, in input order, and the key of the rollout's stop flag."""

    results: list[dict[str, Any]]
    stopKey: str = field(min_length=1)
