"""The weight arithmetic of a shift (pure): every step's weights are computed once, by the plan.

A step is the canary's percentage of the weight stable and canary hold between them (the pool); every other
target keeps its weight. On a relative scale (VPC Lattice, ALB: weights 0-999 that only matter in proportion)
a step is written exactly: if pool x step% is not a whole number, every weight of the action is multiplied by
the smallest whole factor that makes it one for every step, as long as no weight passes the scale's maximum;
the other targets' share of the traffic is unchanged. App Mesh's weights are percentages of at most 100 in
total, so its steps are rounded to the nearest whole weight, as they always were.
"""

from __future__ import annotations

from typing import Any

from mesh_rollout.errors import InvalidRolloutInput, RouteDrifted
from mesh_rollout.traffic import Weights, WeightScale


def pool(weights: Weights, stable: str, canary: str) -> int:
    """The weight stable and canary hold between them; a step redistributes only this."""
    return weights.get(stable, 0) + weights.get(canary, 0)


def canary_percent(weights: Weights, stable: str, canary: str) -> int:
    total = pool(weights, stable, canary)
    return 0 if total == 0 else (200 * weights.get(canary, 0) + total) // (2 * total)


def weights_at(base: Weights, stable: str, canary: str, percent: int, factor: int = 1) -> Weights:
    """`base` (every weight times `factor`) with the canary at `percent` of the stable+canary pool, rounded."""
    scaled = {name: weight * factor for name, weight in base.items()}
    total = pool(scaled, stable, canary)
    canary_weight = (total * percent * 2 + 100) // 200
    return {**scaled, stable: total - canary_weight, canary: canary_weight}


def exact_factor(current: Weights, stable: str, canary: str, percents: list[int], scale: WeightScale) -> int:
    """The smallest factor that expresses every step exactly on a relative scale (1 on App Mesh's)."""
    if not scale.relative or not percents:
        return 1
    total, largest = pool(current, stable, canary), max(current.values(), default=0)
    factor = 1
    while largest * factor <= scale.max_weight and total * factor <= scale.max_weight:
        if all(total * factor * percent % 100 == 0 for percent in percents):
            return factor
        factor += 1
    if total > scale.max_weight:
        raise InvalidRolloutInput(
            "steps",
            f"{stable!r} and {canary!r} weigh {total} together: at 100% the canary would need {total}, above the"
            f" 0-{scale.max_weight} scale; give the route's target groups smaller weights (only their proportions count)",
        )
    inexact = next(p for p in percents if total * p % 100)
    raise InvalidRolloutInput(
        "steps",
        f"{inexact}% of the {total} that {stable!r} and {canary!r} weigh together cannot be written exactly on the"
        f" 0-{scale.max_weight} scale without passing {scale.max_weight} (the largest weight is {largest}); choose steps"
        " that divide it, or give the route's target groups smaller weights",
    )


def describe_weights(weights: Weights) -> str:
    """{'serviceB': 75, 'serviceBv2': 25} -> 'serviceB 75 / serviceBv2 25'."""
    return " / ".join(f"{name} {weight}" for name, weight in weights.items())


def is_retired(weights: Weights, stable: str, canary: str) -> bool:
    """The shift is complete: the stable target is off the route (finalize took it off, and may have deleted it) and
    the canary carries all the route's traffic.

    (A stable name that was never on the route, next to other weighted targets, is an input error instead: from the
    weights alone a finished shift next to a third target, a mirror, cannot be told from a stable misnamed mid-shift.)"""
    return stable not in weights and weights.get(canary, 0) > 0 and all(w == 0 for n, w in weights.items() if n != canary)


def retired_weights(weights: Weights, stable: str) -> Weights:
    """The weights finalize leaves when it removes the stable target."""
    return {name: weight for name, weight in weights.items() if name != stable}


def plan_steps(
    current: Weights,
    stable: str,
    canary: str,
    percents: list[int],
    approvals: set[int],
    scale: WeightScale,
    one_step: bool = False,
) -> list[dict[str, Any]]:
    """The steps this execution applies: each with its weights, the weights before it, and whether it asks for
    approval. Compared by weight, not by rounded percentage: a step counts only if it gives the canary more weight
    than it has now (else it is already reached) or than the step before gave it (else it is folded into the next
    step, its approval with it)."""
    if is_retired(current, stable, canary):
        return []
    at = canary_percent(current, stable, canary)
    factor = exact_factor(current, stable, canary, [p for p in percents if p > at] or percents[-1:], scale)
    share = current.get(canary, 0) * factor
    todo: list[tuple[int, bool, Weights]] = []
    approval = False
    for percent in percents:
        approval = approval or percent in approvals  # a skipped step's approval passes to the next step
        weights = weights_at(current, stable, canary, percent, factor)
        if weights[canary] > share:
            todo.append((percent, approval, weights))
            share, approval = weights[canary], False
    todo = todo[:1] if one_step else todo
    previous = [(canary_percent(current, stable, canary), current), *((p, w) for p, _, w in todo)]
    return [
        {"percent": p, "previousPercent": before, "approval": a, "weights": w, "previous": was}
        for (before, was), (p, a, w) in zip(previous, todo, strict=False)
    ]


def check_route_weights(current: Weights, stable: str, canary: str, route: str, scale: WeightScale) -> None:
    """The route must hold the stable target, with weight to shift, within the backend's scale (App Mesh: at most
    100 in total; a step keeps the total, so a larger one would make it write weights App Mesh refuses)."""
    total = sum(current.values())
    if scale.max_total is not None and total > scale.max_total:
        raise InvalidRolloutInput(
            "routeName",
            f"route {route!r} has {describe_weights(current)}: its weights sum to {total}, above App Mesh's"
            f" maximum total of {scale.max_total}; correct the route's weights before shifting them",
        )
    if is_retired(current, stable, canary):
        return
    if stable not in current:
        raise InvalidRolloutInput("stable", f"{stable!r} is not a weighted target of route {route!r}")
    if pool(current, stable, canary) == 0:
        raise InvalidRolloutInput("stable", f"{stable!r} and {canary!r} hold no weight on the route: nothing to shift")
    if canary not in current and len(current) >= scale.max_targets:
        raise InvalidRolloutInput("canary", f"route {route!r} already has {len(current)} weighted targets, the maximum")


def expect_weights(current: Weights, allowed: list[Weights], route: str) -> None:
    """RouteDrifted unless the route holds one of the weight sets this rollout may have left."""
    if current not in allowed:
        raise RouteDrifted(
            f"route {route} has {describe_weights(current)}, which this rollout did not write "
            f"(expected {' or '.join(describe_weights(w) for w in allowed)}); the hand-set weights are left alone"
        )
