"""UpdateService (every state machine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.events import HandlerEvent
from mesh_rollout.events.service_revision import ServiceRevisionEvent
from mesh_rollout.shapes import field


class UpdateServiceEvent(ServiceRevisionEvent):
    """With `vpcLatticeConfigurations` (ECS's own shape), the service is also attached to those target groups.
    With `lockId` (the weight shift's release), the update is fenced by `executionArn` holding that route lock."""

    vpcLatticeConfigurations: list[dict[str, Any]] | None = None
    lockId: str | None = field(default=None, min_length=1)

    def fenced_by(self) -> tuple[str, str] | None:
        """(lockId, the execution whose hold of it fences the update), None without a lockId; checked before any call."""
        if self.lockId is None:
            return None
        if not self.executionArn:
            raise InvalidRolloutInput("executionArn", "required with lockId: the lock's owner, whose hold fences the update")
        if self.vpcLatticeConfigurations is not None:
            raise InvalidRolloutInput(
                "lockId", "a fenced update puts back only the task definition: not with vpcLatticeConfigurations"
            )
        return self.lockId, self.executionArn


class UpdateReleasesEvent(HandlerEvent):
    """A group's release revisions (RegisterReleases'), each canary service updated under its leg's lock."""

    executionArn: str = field(min_length=1)  # type: ignore[assignment]
    revisions: list[dict[str, Any]]
