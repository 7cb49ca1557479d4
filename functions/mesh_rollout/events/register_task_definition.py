"""RegisterTaskDefinition (MeshRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt

from mesh_rollout.events import HandlerEvent


class RegisterTaskDefinitionEvent(HandlerEvent):
    index: StrictInt = Field(ge=0)
    target: dict[str, Any]
