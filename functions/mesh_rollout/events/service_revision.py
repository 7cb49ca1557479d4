"""The ECS service and task definition revision that UpdateService, DeploymentHealth and RollbackService act on."""

from __future__ import annotations

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class ServiceRevisionEvent(HandlerEvent):
    cluster: str = field(min_length=1)
    service: str = field(min_length=1)
    taskDefinition: str = field(min_length=1)
