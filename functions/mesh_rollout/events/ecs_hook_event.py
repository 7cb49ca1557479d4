"""EcsHookEvent: EventBridge's "ECS Hook State Change" event (not a state's).

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_hook_state_change_events.html
"""

from __future__ import annotations

from typing import Literal

from mesh_rollout.shapes import Shape


class HookStateDetail(Shape):
    """The `detail` (the fields used; the others are kept: as_dict() has them)."""

    unknown = "allow"
    eventName: str
    serviceArn: str
    serviceDeploymentArn: str
    clusterArn: str
    hookId: str | None = None
    hookType: str | None = None
    lifecycleStage: str | None = None


class EcsHookEventEvent(Shape):
    unknown = "allow"
    source: Literal["aws.ecs"]
    detail: HookStateDetail
