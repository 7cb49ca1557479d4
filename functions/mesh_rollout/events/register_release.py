"""RegisterRelease (WeightShiftStateMachine)."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent


class RegisterReleaseEvent(HandlerEvent):
    release: dict[str, Any]


class RegisterReleasesEvent(HandlerEvent):
    """A group's releases: each {name, lockId, release} (grouping.plan: the route legs that deploy a new image)."""

    releases: list[dict[str, Any]]
