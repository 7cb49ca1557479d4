"""The ECS service and task definition revision that UpdateService, DeploymentHealth and RollbackService act on."""

from __future__ import annotations

from pydantic import Field, StrictStr

from mesh_rollout.events import HandlerEvent


class ServiceRevisionEvent(HandlerEvent):
    cluster: StrictStr = Field(min_length=1)
    service: StrictStr = Field(min_length=1)
    taskDefinition: StrictStr = Field(min_length=1)
