"""After a group's execution ends without finishing (stopped, timed out, failed outside its Catches): every leg back
to its snapshot and every lock freed, as shifting.cleanup does for a route alone.

Each leg's lock is taken over from the stopped execution first (a write of its still in flight then undoes itself:
weight_shift._write_verified), the legs are restored in the group's rollback order (grouping.legs.restore_legs), then
the locks are released. A leg whose lock another rollout holds now is left alone and said so; a leg set by hand stays
as it is. A restore that fails keeps the locks taken over (until they expire) and raises: the retry takes them over
from the clean-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from mesh_rollout.deploying.cleanup import roll_back
from mesh_rollout.deploying.service_lock import lock_item
from mesh_rollout.errors import RollbackFailed
from mesh_rollout.grouping.legs import alone, restore_legs, restored_text, with_snapshots
from mesh_rollout.grouping.releases import undo_releases
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.cleanup import EARLIER_DELIVERY, lock_line, release_for, state_output
from mesh_rollout.shifting.weight_shift import finish_record

CLEANUP_LOCK_SECONDS = 900


def recover_unfinished_group(
    dynamodb: Any,
    table: str,
    execution_arn: str,
    history: list[dict[str, Any]],
    status: str,
    plan: dict[str, Any],
    ecs: Any = None,
) -> list[str]:
    """Undo what a group that ended ABORTED, TIMED_OUT or FAILED left, one wave at a time, the last first: its route
    legs back on their snapshots, its ECS legs rolled back by ECS (asked: the clean-up does not wait for ECS). A wave
    that cannot be put back is raised once every wave was tried. Idempotent; returns what was done."""
    snapshotted = state_output(history, "SnapshotLegs")
    finished = "result" in (state_output(history, "FinishGroup") or {})
    finishing = state_output(history, "FinishGroup", "Entered")
    succeeded = finishing is not None and not finish_record(finishing)["outcome"].get("failure")
    ecs_legs = plan.get("ecsLegs") or []
    if finished or (status == "FAILED" and succeeded):
        return [release_for(dynamodb, table, lock_id, execution_arn) for lock_id in plan["lockIds"]]
    done: list[str] = []
    released = _releases_to_undo(history)
    legs = with_snapshots(snapshotted["legs"], snapshotted["snapshotted"]["snapshots"]) if snapshotted else None
    failed: RollbackFailed | None = None
    for wave in plan["rollbackOrder"]:  # the last wave first: a leg before the legs it waited for
        routes = wave["routes"][0]
        if legs is not None and routes:
            try:
                wave_legs = [legs[index] for index in routes]
                done += _restore_taken_over(
                    dynamodb, table, execution_arn, wave_legs, [list(range(len(wave_legs)))], (ecs, released)
                )
            except RollbackFailed as exc:  # noted; the legs before it are still put back
                failed = failed or exc
        elif legs is None:
            done += [release_for(dynamodb, table, plan["legs"][index]["lockId"], execution_arn) for index in routes]
        done += [_roll_back_taken_over(ecs, dynamodb, table, execution_arn, ecs_legs[index]) for index in wave["ecs"]]
    if failed is not None:
        raise failed
    return done


def _releases_to_undo(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RegisterReleases' revisions if the execution went on to update the canary services with them, else none."""
    registered = (state_output(history, "RegisterReleases") or {}).get("releaseRevisions") or {}
    if state_output(history, "UpdateCanaryServices", "Entered") is None:
        return []
    return [
        dict(revision)
        for revision in registered.get("revisions", [])
        if revision["taskDefinition"] != revision["previousTaskDefinition"]
    ]


def _roll_back_taken_over(ecs: Any, dynamodb: Any, table: str, execution_arn: str, leg: dict[str, Any]) -> str:
    """An ECS leg's deployment rolled back by ECS under the lock taken over from the stopped execution (as
    deploying.cleanup does for a deployment alone), then the lock released."""
    lock_id, cleaner = leg["lockId"], f"{execution_arn}#cleanup"
    item = lock_item(dynamodb, table, lock_id, live=False)  # before the take-over's PutItem replaces the item
    if item is None or item["owner"] not in (execution_arn, cleaner):
        if lock.release_record(dynamodb, table, lock_id, cleaner):
            return f"leg {leg['name']}: lock {lock_id} was already released {EARLIER_DELIVERY}"
        return f"leg {leg['name']}: lock {lock_id} is not the execution's (now {item['owner'] if item else 'free'}): left alone"
    if lock.take_over(dynamodb, table, lock_id, execution_arn, cleaner, CLEANUP_LOCK_SECONDS) is None:
        return f"leg {leg['name']}: lock {lock_id} was taken by another rollout meanwhile: left alone"
    arn = item["serviceDeploymentArn"]
    done = roll_back(ecs, arn) if arn else "no ECS deployment was started"
    lock.release(dynamodb, table, lock_id, cleaner)
    return f"leg {leg['name']}: {done}; lock {lock_id} released"


def _cleaner_fence(dynamodb: Any, table: str, cleaner: str, leg: Mapping[str, Any]) -> lock.LockFence:
    return lock.LockFence(dynamodb, table, leg["lockId"], cleaner)


def _restore_taken_over(
    dynamodb: Any,
    table: str,
    execution_arn: str,
    legs: list[dict[str, Any]],
    rollback_waves: list[list[int]],
    releases: tuple[Any, list[dict[str, Any]]] = (None, []),
) -> list[str]:
    """The legs' locks taken over, the legs restored, their released canaries put back (`releases`: the ECS client
    and the legs' release revisions; a leg set by hand keeps its release, as its weights), then the locks released."""
    cleaner = f"{execution_arn}#cleanup"
    done: list[str] = []
    taken: list[tuple[str, str]] = []  # (lock, who held it when taken over)
    ours = []
    for leg in legs:
        previous = lock.take_over(dynamodb, table, leg["lockId"], execution_arn, cleaner, CLEANUP_LOCK_SECONDS)
        if previous is None:
            held = lock.holder(dynamodb, table, leg["lockId"])
            owner = held["owner"] if held else "?"
            if leg.get("single"):
                done.append(f"route left alone: lock {leg['lockId']} is held by {owner}, another rollout of the route")
            else:
                done.append(f"leg {leg['name']} left alone: lock {leg['lockId']} is held by {owner}")
            ours.append({**leg, "snapshot": None})  # restore_legs skips a leg without a snapshot
            continue
        taken.append((leg["lockId"], previous))
        ours.append(leg)
    try:
        restored = restore_legs(ours, rollback_waves, partial(_cleaner_fence, dynamodb, table, cleaner), stopped=True)
    except RollbackFailed as exc:  # every leg was tried: the locks stay with the clean-up until they expire
        raise RollbackFailed(f"{exc}; the legs' locks are kept until they expire") from exc
    said = restored_text(restored["legs"])
    if restored["legs"]:
        done.append(said if alone(legs) else f"legs: {said}")  # a route alone: its texts name its route, not a leg
    elif taken:
        done.append("no leg had been snapshotted")
    ecs, revisions = releases
    ours_now = {leg["name"] for leg in ours if leg.get("snapshot") is not None}  # a leg left alone keeps its release
    mine = [revision for revision in revisions if revision["name"] in ours_now]
    if mine:
        undone = undo_releases(ecs, mine, [{"restored": restored}])
        done += [*undone["done"], *undone["kept"]]  # a leg set by hand keeps its release, and the clean-up says so
    for lock_id, previous in taken:
        said = lock_line(dynamodb, table, lock_id, execution_arn, previous)  # before the release: it reads the records
        lock.release(dynamodb, table, lock_id, cleaner)
        done.append(said)
    return done
