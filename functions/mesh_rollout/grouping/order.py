"""The order a group's legs move in, and each leg's target at a group step (pure).

At a step the legs move in waves: a wave is every leg whose `after` legs have all moved (Kahn's topological
order, stable by the input's order), so a state machine's Map runs one wave at a time and its legs together.
A rollback goes through the waves in reverse (grouping.plan's rollbackOrder): a leg is put back before the legs it
waited for. An ECS leg's target at a step is ECS's to reach (grouping.ecs_legs.target_of).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mesh_rollout.shifting.weights import plan_steps
from mesh_rollout.traffic import Weights, WeightScale


def waves(after: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The legs (name -> the legs it waits for, in the input's order) in waves: each wave's legs wait only for
    legs of earlier waves, each as early as it can, in the input's order within a wave. ValueError names a cycle
    (inputs.py refuses one first); names `after` gives that are not legs are ignored (inputs.py refuses them)."""
    waiting = {name: {other for other in needs if other in after} for name, needs in after.items()}
    found: list[list[str]] = []
    moved: set[str] = set()
    while len(moved) < len(after):
        wave = [name for name in after if name not in moved and waiting[name] <= moved]
        if not wave:
            cycle = find_cycle(after)
            raise ValueError(f"cycle: {' -> '.join(cycle or [])}")
        found.append(wave)
        moved.update(wave)
    return found


def find_cycle(after: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle of `after` as the names along it, first name repeated at the end (['a', 'b', 'a']: a waits
    for b, which waits for a), the first found in the input's order; None if there is none."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once every leg it waits for is explored

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        path.append(name)
        for other in after[name]:
            if other not in after:
                continue
            if state.get(other) == "open":
                return [*path[path.index(other) :], other]
            if other not in state:
                cycle = visit(other, path)
                if cycle:
                    return cycle
        path.pop()
        state[name] = "done"
        return None

    for name in after:
        if name not in state:
            cycle = visit(name, [])
            if cycle:
                return cycle
    return None


def leg_targets(current: Weights, stable: str, canary: str, percents: list[int], scale: WeightScale) -> dict[int, Weights]:
    """A weight-shift leg's weights after each of the group's steps, on its route's own scale (App Mesh's 0-100,
    VPC Lattice's and ALB's 0-999), computed as a route alone is planned (shifting.weights.plan_steps, which
    writes every step exactly on a relative scale). A step the route has already reached, or that rounds to the
    weights of the step before, keeps the weights it has: the leg has nothing to write there, and its gate is
    read all the same (the group's step passes only when every leg's gate does)."""
    planned = {step["percent"]: step["weights"] for step in plan_steps(current, stable, canary, percents, set(), scale)}
    targets, weights = {}, current
    for percent in percents:
        weights = planned.get(percent, weights)
        targets[percent] = weights
    return targets
