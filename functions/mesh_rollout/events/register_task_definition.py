"""RegisterTaskDefinition (MeshRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class RegisterTaskDefinitionEvent(HandlerEvent):
    index: int = field(ge=0)
    target: dict[str, Any]
