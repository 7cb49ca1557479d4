"""RollbackService (every state machine)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from mesh_rollout.events.service_revision import ServiceRevisionEvent


class RollbackServiceEvent(ServiceRevisionEvent):
    """taskDefinition is the revision whose deployment failed; previousTaskDefinition is restored."""

    previousTaskDefinition: StrictStr = Field(min_length=1)
    verdict: dict[str, Any]
