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
    single: NotRequired[bool]  # a route alone's leg


class GroupStepApplied(TypedDict):
    percent: int
    legs: list[LegMoved]


class LegVerdict(TypedDict):
    name: str
    state: str
    summary: str
    judge: NotRequired[dict[str, Any]]  # the statistical judge's outcome, when the leg's gate has one (shifting.judge)
    single: NotRequired[bool]  # a route alone's leg


class GroupVerdict(TypedDict):
    """CheckLegs' result: the group's state (the worst leg's), a summary naming each leg that is not HEALTHY, and
    how long to wait before a re-check: the longest of the pending legs' gates, as each gate counts its patience in
    re-checks (maxPendingChecks) and a faster re-check would spend a slower gate's sooner than it allows."""

    state: str
    summary: str
    checks: int
    recheckSeconds: int
    legs: list[LegVerdict]
    reasons: NotRequired[list[str]]  # a route alone: its gate's own reasons and judge, as its output gives them
    judge: NotRequired[dict[str, Any]]


class LegRestored(TypedDict):
    name: str
    restored: bool
    weights: Weights | None
    problem: NotRequired[str]
    single: NotRequired[bool]  # a route alone's leg (its name is its route's label)


class GroupRestored(TypedDict):
    restored: bool
    legs: list[LegRestored]


class GroupFinalized(TypedDict):
    done: list[str]


class LegsSnapshotted(TypedDict):
    """SnapshotLegs' result: each leg's snapshot, in the legs' order (the group's state keeps them beside the legs)."""

    snapshots: list[RouteSnapshot]
    single: NotRequired[bool]  # a route alone's


def alone(legs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The one leg of a route alone (grouping.plan.route_alone: its texts and outputs are a route's), else None."""
    return legs[0] if len(legs) == 1 and legs[0].get("single") else None


def ordered(legs: Sequence[Mapping[str, Any]], waves: Sequence[Sequence[int]]) -> list[Mapping[str, Any]]:
    """The legs in the order of the waves (indexes into legs)."""
    return [legs[index] for wave in waves for index in wave]


def snapshot_legs(legs: Sequence[Mapping[str, Any]]) -> LegsSnapshotted:
    """Every leg's route, before the first change; each must still be as planned."""
    found: LegsSnapshotted = {"snapshots": [take_snapshot(dict(leg["route"]), dict(leg["plannedWeights"])) for leg in legs]}
    if alone(legs):
        found["single"] = True
    return found


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
        if leg.get("single"):
            moved[-1]["single"] = True
    return {"percent": int(step["percent"]), "legs": moved}


def legs_verdict(
    legs: Sequence[Mapping[str, Any]], read: Callable[[Mapping[str, Any]], Mapping[str, Any]], checks: int
) -> GroupVerdict:
    """The group's verdict from each leg's gate (`read(leg)`: shifting.gate.health_verdict on the leg's own gate,
    its canary against its own stable): UNHEALTHY if any leg is, else PENDING if any leg is, else HEALTHY."""
    verdicts: list[LegVerdict] = []
    recheck: list[int] = []
    read_now = [read(leg) for leg in legs]
    for leg, verdict in zip(legs, read_now, strict=True):
        verdicts.append({"name": leg["name"], "state": verdict["state"], "summary": verdict["summary"]})
        if verdict.get("judge"):
            verdicts[-1]["judge"] = dict(verdict["judge"])
        if leg.get("single"):
            verdicts[-1]["single"] = True
        if verdict["state"] == "PENDING":
            gate = leg["plan"]["healthGate"] if "plan" in leg else leg["healthGate"]  # an ECS leg's is in its plan
            recheck.append(int(gate.get("recheckSeconds", 60)))  # the input's default
    state = max((v["state"] for v in verdicts), key=STATES.index)
    route = alone(legs) is not None
    named = [f"leg {v['name']}: {v['summary']}" for v in verdicts if v["state"] == state]
    summary = "; ".join(named) if state != "HEALTHY" else f"every leg HEALTHY ({len(verdicts)})"
    found: GroupVerdict = {
        "state": state,
        "summary": verdicts[0]["summary"] if route else summary,  # a route alone: its gate's own words
        "checks": checks + 1,
        "recheckSeconds": max(recheck, default=0),
        "legs": verdicts,
    }
    if route:
        found["reasons"] = list(read_now[0].get("reasons", []))
        if read_now[0].get("judge"):
            found["judge"] = dict(read_now[0]["judge"])
    return found


def read_legs(
    legs: Sequence[Mapping[str, Any]],
    cloudwatch: Any,
    ecs: Any,
    window_seconds: int,
    checks: int,
    ecs_legs: Sequence[Mapping[str, Any]] = (),
    percent: int = 0,
    deployment: Any = None,
    gate: str = "healthGate",
) -> GroupVerdict:
    """legs_verdict with each leg's gate read now: a route leg's over the bake, an ECS leg's at the pause the group's
    step holds it at (`percent`: ecs_legs.leg_verdict; `deployment` describes its deployment, see there). `gate`
    "preStepGate": a step-mode tick's gate before it moves (a route alone's: shifting.plan.gates)."""

    def read(leg: Mapping[str, Any]) -> Mapping[str, Any]:
        if "plan" in leg:  # an ECS leg
            from mesh_rollout.grouping.ecs_legs import leg_verdict, target_of

            held = {"percent": target_of(leg["plan"], percent) if percent else 0}
            return leg_verdict(cloudwatch, ecs, leg, held, checks, deployment)
        return health_verdict(dict(leg.get(gate) or leg["healthGate"]), cloudwatch, ecs, window_seconds, checks)

    return legs_verdict([*legs, *ecs_legs], read, checks)


def drifted_route(failure: Mapping[str, Any] | None) -> str | None:
    """The message of the RouteDrifted that stopped the group (`route <label> has ...`: apply_step's), else None."""
    error, message = readable_failure(dict(failure) if failure else None)
    return message if error == "RouteDrifted" else None


def restore_legs(
    legs: Sequence[Mapping[str, Any]],
    rollback_waves: Sequence[Sequence[int]],
    fence_of: FenceOf,
    stopped: bool = False,
    drifted: str | None = None,
) -> GroupRestored:
    """Every snapshotted leg back to its snapshot (restore_route), the last wave first; a step-mode leg's rollback
    sends its whole pool to stable (restore_route's mode increment), but a stopped execution's clean-up (`stopped`)
    puts every leg back where the user had it, on its snapshot. The leg whose route the RouteDrifted that stopped the
    group names (`drifted`, its message) is left as someone set it, even at weights this rollout wrote at an earlier
    step (which restore_route's own check would take for ours). A leg whose weights someone
    set by hand (RouteDrifted) or whose lock another execution holds now is left as it is and said so; the others
    are restored all the same. A transient error is raised once every leg was tried (the retry finds those done
    already there); any other failure is RollbackFailed naming each leg and what became of it."""
    results: list[LegRestored] = []
    transient: TransientAwsError | None = None
    failed: list[str] = []
    for leg in ordered(legs, rollback_waves):
        if leg.get("snapshot") is None:  # a group stopped before its snapshot changed nothing
            continue
        if drifted is not None and drifted.startswith(f"route {leg['route']['label']} "):
            results.append(leg_restored(leg, False, None, f"RouteDrifted: {drifted}"))
            continue
        try:
            restored = restore_route(
                dict(leg["route"]),
                dict(leg["snapshot"]),
                leg["stable"],
                leg["canary"],
                list(leg["steps"]),
                "plan" if stopped else str(leg.get("mode", "plan")),
                fence_of(leg),
                dict(leg["finalize"]),
            )
        except TransientAwsError as exc:
            transient = transient or exc
            results.append(leg_restored(leg, False, None, str(exc)))
            continue
        except MeshRolloutError as exc:
            error, message = readable_failure({"Error": type(exc).__name__, "Cause": str(exc)})
            results.append(leg_restored(leg, False, None, f"{error}: {message}"))
            if error not in ("RouteDrifted", "LockLost"):
                failed.append(leg["name"])
            continue
        results.append(leg_restored(leg, restored["restored"], restored["weights"]))
    if transient is not None:
        raise transient
    if failed:
        raise RollbackFailed(restored_text(results))
    return {"restored": any(leg["restored"] for leg in results), "legs": results}


def leg_restored(leg: Mapping[str, Any], restored: bool, weights: Weights | None, problem: str = "") -> LegRestored:
    """What became of one leg in a rollback (a route alone's says so: its texts name its route, not a leg)."""
    result: LegRestored = {"name": leg["name"], "restored": restored, "weights": weights}
    if problem:
        result["problem"] = problem
    if leg.get("single"):
        result["single"] = True
    return result


def restored_text(results: Sequence[Mapping[str, Any]]) -> str:
    """What became of each leg in a rollback, in words."""
    said = []
    for leg in results:
        if leg.get("single") and leg.get("problem"):  # a route alone (weights set by hand: their own words)
            said.append(f"route not restored: {str(leg['problem']).removeprefix('RouteDrifted: ')}")
        elif leg.get("single"):
            state = "restored to" if leg["restored"] else "already at"
            said.append(f"route {leg['name']} {state} its snapshot {describe_weights(leg['weights'])}")
        elif leg.get("problem"):
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
            done.extend(line if leg.get("single") else f"leg {leg['name']}: {line}" for line in finalized["done"])
    return {"done": done}
