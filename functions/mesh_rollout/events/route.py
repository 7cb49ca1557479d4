"""The route and the two targets being shifted, as ShiftTraffic and FinalizeCanary receive them."""

from __future__ import annotations

from typing import Any

from mesh_rollout.events import HandlerEvent
from mesh_rollout.shapes import field


class RouteEvent(HandlerEvent):
    """A route (as PlanWeightShift returned it) and the two targets being shifted."""

    route: dict[str, Any]
    stable: str = field(min_length=1)
    canary: str = field(min_length=1)
