"""RollbackService (every state machine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.service_revision import ServiceRevisionEvent
from mesh_rollout.shapes import field


class RollbackServiceEvent(ServiceRevisionEvent):
    """taskDefinition is the revision whose deployment failed; previousTaskDefinition is restored, and so are
    previousVpcLatticeConfigurations when given (ECS's own shape; [] when the service had none)."""

    previousTaskDefinition: str = field(min_length=1)
    verdict: dict[str, Any]
    previousVpcLatticeConfigurations: list[dict[str, Any]] | None = None


class UndoReleasesEvent(HandlerEvent):
    """A group's release revisions, each undone after the rollback (`rolledBack`: RollBackWaves' result)."""

    revisions: list[dict[str, Any]]
    rolledBack: Any = None
