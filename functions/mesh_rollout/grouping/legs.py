"""A group's steps after its plan, each over every leg: the same functions a route alone runs (shifting.weight_shift,
shifting.gate), leg by leg, in the group's order.

One call moves (or reads, or restores) every leg, so a step costs the same states and Lambda invocations whatever
the number of legs; only the AWS calls grow with it. Writes go wave by wave (order.waves): a leg that waits for
another is written only once the other's write is verified. A rollback goes through every leg, in reverse order,
even when one of them cannot be put back, and says of each what became of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from mesh_rollout.errors import MeshRolloutError, RollbackFailed, TransientAwsError, readable_failure
from mesh_rollout.shifting.gate import health_verdict
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.weight_shift import RouteSnapshot, apply_step, finalize_canary, restore_route, take_snapshot
from mesh_rollout.shifting.weights import describe_weights
from mesh_rollout.traffic import Weights

FenceOf = Callable[[Mapping[str, Any]], LockFence]  # a leg's lock fence (its lockId, this execution)
STATES = ("HEALTHY", "PENDING", "UNHEALTHY")


class LegMoved(TypedDict):
    name: str
    weights: Weights
    changed: bool


class GroupStepApplied(TypedDict):
    percent: int
    legs: list[LegMoved]


class LegVerdict(TypedDict):
    name: str
    state: str
    summary: str


class GroupVerdict(TypedDict):
    """CheckLegs' result: the group's state (the worst leg's), a summary naming each leg that is not HEALTHY, and
    how long to wait before a re-check: the longest of the pending legs' gates, as each gate counts its patience in
    re-checks (maxPendingChecks) and a faster re-check would spend a slower gate's sooner than it allows."""

    state: str
    summary: str
    checks: int
    recheckSeconds: int
    legs: list[LegVerdict]


class LegRestored(TypedDict):
    name: str
    restored: bool
    weights: Weights | None
    problem: NotRequired[str]


class GroupRestored(TypedDict):
    restored: bool
    legs: list[LegRestored]


class GroupFinalized(TypedDict):
    done: list[str]


class LegsSnapshotted(TypedDict):
    """SnapshotLegs' result: each leg's snapshot, in the legs' order (the group's state keeps them beside the legs)."""

    snapshots: list[RouteSnapshot]


def ordered(legs: Sequence[Mapping[str, Any]], waves: Sequence[Sequence[int]]) -> list[Mapping[str, Any]]:
    """The legs in the order of the waves (indexes into legs)."""
    return [legs[index] for wave in waves for index in wave]


def snapshot_legs(legs: Sequence[Mapping[str, Any]]) -> LegsSnapshotted:
    """Every leg's route, before the first change; each must still be as planned."""
    return {"snapshots": [take_snapshot(dict(leg["route"]), dict(leg["plannedWeights"])) for leg in legs]}


def with_snapshots(legs: Sequence[Mapping[str, Any]], snapshots: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The legs, each with its snapshot (none before SnapshotLegs ran)."""
    found = list(snapshots or [])
    return [{**leg, "snapshot": found[i] if i < len(found) else None} for i, leg in enumerate(legs)]


def apply_legs(
    legs: Sequence[Mapping[str, Any]], waves: Sequence[Sequence[int]], step: Mapping[str, Any], fence_of: FenceOf
) -> GroupStepApplied:
    """Every leg of `waves` to its weights at the group's step ({index, percent}), wave by wave, each write
    drift-checked, fenced by the leg's lock and verified (apply_step). A retried call finds the legs it already
    wrote at their weights."""
    moved: list[LegMoved] = []
    for leg in ordered(legs, waves):
        own = leg["steps"][int(step["index"])]
        applied = apply_step(dict(leg["route"]), dict(leg["snapshot"]), dict(own), fence_of(leg))
        moved.append({"name": leg["name"], "weights": applied["weights"], "changed": applied["changed"]})
    return {"percent": int(step["percent"]), "legs": moved}


def legs_verdict(
    legs: Sequence[Mapping[str, Any]], read: Callable[[Mapping[str, Any]], Mapping[str, Any]], checks: int
) -> GroupVerdict:
    """The group's verdict from each leg's gate (`read(leg)`: shifting.gate.health_verdict on the leg's own gate,
    its canary against its own stable): UNHEALTHY if any leg is, else PENDING if any leg is, else HEALTHY."""
    verdicts: list[LegVerdict] = []
    recheck: list[int] = []
    for leg in legs:
        verdict = read(leg)
        verdicts.append({"name": leg["name"], "state": verdict["state"], "summary": verdict["summary"]})
        if verdict["state"] == "PENDING":
            gate = leg["plan"]["healthGate"] if "plan" in leg else leg["healthGate"]  # an ECS leg's is in its plan
            recheck.append(int(gate.get("recheckSeconds", 60)))  # the input's default
    state = max((v["state"] for v in verdicts), key=STATES.index)
    named = [f"leg {v['name']}: {v['summary']}" for v in verdicts if v["state"] == state]
    summary = "; ".join(named) if state != "HEALTHY" else f"every leg HEALTHY ({len(verdicts)})"
    return {"state": state, "summary": summary, "checks": checks + 1, "recheckSeconds": max(recheck, default=0), "legs": verdicts}


def read_legs(
    legs: Sequence[Mapping[str, Any]],
    cloudwatch: Any,
    ecs: Any,
    window_seconds: int,
    checks: int,
    ecs_legs: Sequence[Mapping[str, Any]] = (),
    percent: int = 0,
    deployment: Any = None,
) -> GroupVerdict:
    """legs_verdict with each leg's gate read now: a route leg's over the bake, an ECS leg's at the pause the group's
    step holds it at (`percent`: ecs_legs.leg_verdict; `deployment` describes its deployment, see there)."""

    def read(leg: Mapping[str, Any]) -> Mapping[str, Any]:
        if "plan" in leg:  # an ECS leg
            from mesh_rollout.grouping.ecs_legs import leg_verdict, target_of

            held = {"percent": target_of(leg["plan"], percent) if percent else 0}
            return leg_verdict(cloudwatch, ecs, leg, held, checks, deployment)
        return health_verdict(dict(leg["healthGate"]), cloudwatch, ecs, window_seconds, checks)

    return legs_verdict([*legs, *ecs_legs], read, checks)


def restore_legs(legs: Sequence[Mapping[str, Any]], rollback_waves: Sequence[Sequence[int]], fence_of: FenceOf) -> GroupRestored:
    """Every snapshotted leg back to its snapshot (restore_route), the last wave first. A leg whose weights someone
    set by hand (RouteDrifted) or whose lock another execution holds now is left as it is and said so; the others
    are restored all the same. A transient error is raised once every leg was tried (the retry finds those done
    already there); any other failure is RollbackFailed naming each leg and what became of it."""
    results: list[LegRestored] = []
    transient: TransientAwsError | None = None
    failed: list[str] = []
    for leg in ordered(legs, rollback_waves):
        if leg.get("snapshot") is None:  # a group stopped before its snapshot changed nothing
            continue
        try:
            restored = restore_route(
                dict(leg["route"]),
                dict(leg["snapshot"]),
                leg["stable"],
                leg["canary"],
                list(leg["steps"]),
                "plan",
                fence_of(leg),
                dict(leg["finalize"]),
            )
        except TransientAwsError as exc:
            transient = transient or exc
            results.append({"name": leg["name"], "restored": False, "weights": None, "problem": str(exc)})
            continue
        except MeshRolloutError as exc:
            error, message = readable_failure({"Error": type(exc).__name__, "Cause": str(exc)})
            results.append({"name": leg["name"], "restored": False, "weights": None, "problem": f"{error}: {message}"})
            if error not in ("RouteDrifted", "LockLost"):
                failed.append(leg["name"])
            continue
        results.append({"name": leg["name"], "restored": restored["restored"], "weights": restored["weights"]})
    if transient is not None:
        raise transient
    if failed:
        raise RollbackFailed(restored_text(results))
    return {"restored": any(leg["restored"] for leg in results), "legs": results}


def restored_text(results: Sequence[Mapping[str, Any]]) -> str:
    """What became of each leg in a rollback, in words."""
    said = []
    for leg in results:
        if leg.get("problem"):
            said.append(f"leg {leg['name']} not restored: {leg['problem']}")
        else:
            said.append(f"leg {leg['name']} at its snapshot {describe_weights(leg['weights'])}")
    return "; ".join(said)


def finalize_legs(
    legs: Sequence[Mapping[str, Any]], waves: Sequence[Sequence[int]], ecs: Any, fence_of: FenceOf
) -> GroupFinalized:
    """At 100%, each leg's finalize (finalize_canary: its stable off the route, opt-in scale-down and deletion)."""
    done: list[str] = []
    for leg in ordered(legs, waves):
        if leg["finalize"].get("pending"):
            finalized = finalize_canary(
                dict(leg["route"]), dict(leg["snapshot"]), leg["stable"], leg["canary"], dict(leg["finalize"]), ecs, fence_of(leg)
            )
            done.extend(f"leg {leg['name']}: {line}" for line in finalized["done"])
    return {"done": done}
