"""The `ecs` record an ECS deployment's execution carries (`$.ecs`): StartEcsDeployment makes it, each
EcsDeploymentStatus read and each EcsDecide answer returns it with more in it. Types only (no imports to pay for)."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class PauseHooks(TypedDict):
    """The PAUSE hooks of ours that wait for an answer, at one stage and production weight."""

    hookIds: list[str]
    stage: str
    percent: int | float


class EcsPause(PauseHooks):
    """A waiting pause and what CONTINUE leads to (nextPercent None after the last shift), and whether approval comes first."""

    nextPercent: int | float | None
    nextWeights: dict[str, Any] | None
    approval: bool


class EcsDeploymentRecord(TypedDict):
    """StartEcsDeployment's result (the first seven keys); EcsDeploymentStatus's adds where ECS stands, EcsDecide's the
    answer it sent (each returns the record it was given, updated)."""

    serviceDeploymentArn: str
    startedAt: int
    continuedAt: int
    polls: int
    waitSeconds: int
    state: str  # RUNNING, PAUSED, SUCCESSFUL, ROLLING_BACK, ROLLED_BACK, ROLLBACK_FAILED, STOPPED, SUPERSEDED, TIMED_OUT
    steps: list[dict[str, Any]]
    stage: NotRequired[str | None]
    status: NotRequired[str | None]
    statusReason: NotRequired[str]
    rollbackReason: NotRequired[str | None]
    supersededBy: NotRequired[str | None]
    pause: NotRequired[EcsPause | None]
    percent: NotRequired[int | float]
    weights: NotRequired[dict[str, Any]]
    decision: NotRequired[str]  # CONTINUE or ROLLBACK
    answered: NotRequired[list[str]]
