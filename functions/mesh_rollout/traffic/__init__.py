"""The traffic-shifting layer: one narrow interface over a weighted route, one module per backend.

Everything above this package (planning, drift checks, fencing, the state machines) sees a route only as
`read()` -> weights plus an opaque snapshot (what the route was, for the record), `write(weights)` and the
limits of its weight scale. A backend is a module here with a `from_reference(reference)` that builds its
route from the reference the plan passes around (`{"backend": "appmesh", ...}`); the state machines do
not know which backend they drive.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

Weights = dict[str, int]
# each backend's name as a person reads it: the weight shift's routes, and what an ECS deployment moves traffic with
BACKEND_NAMES = {"appmesh": "App Mesh", "lattice": "VPC Lattice", "alb": "ALB", "nlb": "NLB", "serviceConnect": "Service Connect"}


@dataclass(frozen=True)
class RouteState:
    """A route as read: its weighted targets and a snapshot of the whole route (kept in the execution)."""

    weights: Weights
    snapshot: dict[str, Any]
    version: int | None = None


@dataclass(frozen=True)
class WeightScale:
    """What weights a backend accepts: per target, in total, how many targets, and whether the scale is relative
    (weights only matter in proportion, so all of them may be multiplied to express a step exactly)."""

    max_weight: int
    max_total: int | None
    max_targets: int
    relative: bool


class WeightedRoute(Protocol):
    """One weighted route of some backend."""

    label: str
    scale: WeightScale

    def read(self) -> RouteState: ...

    def write(self, weights: Weights, based_on: RouteState | None = None) -> RouteState:
        """Make the route's weighted targets exactly `weights` (targets not named are removed) and return the
        route as the write left it (from the write's own response); `based_on` is the route as just read."""

    def target_exists(self, target: str) -> bool:
        """Whether `target` (a node, a target group ...) exists, so it can be given weight."""

    def check_exists(self) -> None:
        """UnknownReference naming the input field if the route or what holds it does not exist."""

    def other_uses(self, target: str) -> list[str]:
        """Where else `target` receives traffic (other rules, default actions, services or load balancers): a
        finalize must not scale its service to zero or delete it while it does."""

    def delete_target(self, target: str) -> bool:
        """Delete a target no route uses any more (a virtual node, a target group); False if it was already gone."""


BACKENDS = ("appmesh", "lattice", "alb")


def backend_module(backend: str) -> Any:
    """The module of a backend: `from_reference(reference)`, `resolve(fields, stable, canary)` (the input's names
    made into a reference, read-only; Lattice and ALB also take `deleted_stable`), `target_metrics(resolved, target,
    latency_statistic, cloudwatch)` (a target's error rate and latency as CloudWatch MetricStats),
    `latency_threshold(ms)` and `dimension_value(...)`."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown traffic backend {backend!r}; known: {BACKENDS}")
    return importlib.import_module(f"mesh_rollout.traffic.{backend}")


def route_for(reference: dict[str, Any]) -> WeightedRoute:
    """The backend object for a route reference as the state machine passes it around."""
    route: WeightedRoute = backend_module(str(reference.get("backend", "appmesh"))).from_reference(reference)
    return route
