"""DeploymentHealth (every state machine)."""

from __future__ import annotations

from mesh_rollout.events.service_revision import ServiceRevisionEvent
from mesh_rollout.shapes import field


class DeploymentHealthEvent(ServiceRevisionEvent):
    checks: int = field(default=0, ge=0)
    maxChecks: int = field(default=120, ge=1)
