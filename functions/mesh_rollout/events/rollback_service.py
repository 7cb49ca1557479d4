"""RollbackService (every state machine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events.service_revision import ServiceRevisionEvent
from mesh_rollout.shapes import field


class RollbackServiceEvent(ServiceRevisionEvent):
    """taskDefinition is the revision whose deployment failed; previousTaskDefinition is restored, and so are
    previousVpcLatticeConfigurations when given (ECS's own shape; [] when the service had none)."""

    previousTaskDefinition: str = field(min_length=1)
    verdict: dict[str, Any]
    previousVpcLatticeConfigurations: list[dict[str, Any]] | None = None
