"""PlanLatticeRollout (LatticeRolloutStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class PlanLatticeRolloutEvent(HandlerEvent):
    rollout: Any
