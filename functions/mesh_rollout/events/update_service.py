"""UpdateService (the ECS service rollout; the weight shift's releases, each under its leg's lock)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.service_revision import ServiceRevisionEvent
from mesh_rollout.shapes import field


class UpdateServiceEvent(ServiceRevisionEvent):
    """With `vpcLatticeConfigurations` (ECS's own shape), the service is also attached to those target groups."""

    vpcLatticeConfigurations: list[dict[str, Any]] | None = None


class UpdateReleasesEvent(HandlerEvent):
    """A group's release revisions (RegisterReleases'), each canary service updated under its leg's lock."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    revisions: list[dict[str, Any]]
