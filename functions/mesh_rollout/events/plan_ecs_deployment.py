"""PlanEcsDeployment (EcsDeploymentStateMachine): the execution input as `rollout`, and the execution's ARN."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class PlanEcsDeploymentEvent(HandlerEvent):
    rollout: Any
