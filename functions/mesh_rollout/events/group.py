"""A group's legs as PlanWeightShift planned them (grouping.plan.LegPlan), as the group's states hand them over."""

from __future__ import annotations

from typing import Any

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import Shape, field


class Leg(Shape):
    """One leg: what ShiftTraffic, CanaryHealth and FinalizeCanary read of it (the rest of its plan is kept)."""

    unknown = "allow"
    name: str = field(min_length=1)
    route: dict[str, Any]
    stable: str = field(min_length=1)
    canary: str = field(min_length=1)
    lockId: str = field(min_length=1)
    plannedWeights: dict[str, int]
    steps: list[dict[str, Any]]
    healthGate: dict[str, Any]
    finalize: dict[str, Any]


class LegsEvent(HandlerEvent):
    """Every leg of the group, and (once SnapshotLegs ran) each one's snapshot, in the same order."""

    legs: list[Leg]
    snapshots: list[dict[str, Any]] | None = None

    def leg_dicts(self) -> list[dict[str, Any]]:
        """The legs, each with its snapshot (None before there is one)."""
        from mesh_rollout.grouping.legs import with_snapshots

        return with_snapshots([leg.as_dict() for leg in self.legs], self.snapshots)


def wave_of(ecs_legs: list[dict[str, Any]], only: list[int] | None) -> list[dict[str, Any]]:
    """The ECS legs a wave names (indexes into the group's ecsLegs), every one without `only`."""
    if only is None:
        return ecs_legs
    wrong = [index for index in only if not 0 <= index < len(ecs_legs)]
    if wrong:
        raise InvalidRolloutInput("only", f"{wrong[0]} is no ECS leg of the group's {len(ecs_legs)}")
    return [ecs_legs[index] for index in only]
