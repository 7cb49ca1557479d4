"""DeploymentHealth (every state machine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.service_revision import ServiceRevisionEvent
from mesh_rollout.shapes import field


class DeploymentHealthEvent(ServiceRevisionEvent):
    checks: int = field(default=0, ge=0)
    maxChecks: int = field(default=120, ge=1)


class CheckReleasesEvent(HandlerEvent):
    """A group's release revisions, each deployment read once."""

    revisions: list[dict[str, Any]]
    checks: int = field(default=0, ge=0)
