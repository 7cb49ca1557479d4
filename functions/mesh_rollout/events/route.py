"""The route and the two targets being shifted, as ShiftTraffic and FinalizeCanary receive them."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from mesh_rollout.events import HandlerEvent


class RouteEvent(HandlerEvent):
    """A route (as PlanWeightShift returned it) and the two targets being shifted."""

    route: dict[str, Any]
    stable: StrictStr = Field(min_length=1)
    canary: StrictStr = Field(min_length=1)
