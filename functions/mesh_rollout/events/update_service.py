"""UpdateService (every state machine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events.service_revision import ServiceRevisionEvent


class UpdateServiceEvent(ServiceRevisionEvent):
    """With `vpcLatticeConfigurations` (ECS's own shape), the service is also attached to those target groups."""

    vpcLatticeConfigurations: list[dict[str, Any]] | None = None
