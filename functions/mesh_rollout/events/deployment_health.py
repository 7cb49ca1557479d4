"""DeploymentHealth (every state machine)."""

from __future__ import annotations

from pydantic import Field, StrictInt

from mesh_rollout.events.service_revision import ServiceRevisionEvent


class DeploymentHealthEvent(ServiceRevisionEvent):
    checks: StrictInt = Field(default=0, ge=0)
    maxChecks: StrictInt = Field(default=120, ge=1)
