"""DryRunEcsDeployment (EcsDeploymentStateMachine, input `"dryRun": true`)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class DryRunEcsDeploymentEvent(HandlerEvent):
    rollout: Any
