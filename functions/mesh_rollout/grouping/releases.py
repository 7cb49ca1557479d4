"""A group's releases: the route legs that deploy a new image to their canary's ECS service first (imageDefinitions,
canaryImage, alternate), as a route alone does (shifting.release), each leg's in turn, before the group's first
step; undone after a rollback (the canary put back on the revision it ran), unless the leg's weights were set by
hand (the canary may carry traffic someone sent it: its release stays, as a route alone's does)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from mesh_rollout.aws.ecs import ServiceRevision, short_name
from mesh_rollout.errors import MeshRolloutError, RollbackFailed, TransientAwsError, readable_failure
from mesh_rollout.onboarding.rollout import check_deployment
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.release import point_canary_at_release, release_revision, undo_release


class LegRevision(ServiceRevision):
    """A leg's release revision (shifting.release.release_revision), its leg and how its deployment is polled."""

    name: str
    lockId: str
    maxChecks: int
    single: NotRequired[bool]


class ReleasesRegistered(TypedDict):
    revisions: list[LegRevision]
    pollSeconds: int


class ReleasesPointed(TypedDict):
    updated: list[str]  # the legs whose canary service this call updated (a retry finds the others already on it)


class ReleasesChecked(TypedDict):
    """CheckReleases' result: COMPLETED when every leg's deployment is, IN_PROGRESS while any is (and none timed out),
    else FAILED; a summary naming each leg that is not COMPLETED."""

    state: str
    checks: int
    summary: str


class ReleasesUndone(TypedDict):
    done: list[str]
    kept: list[str]  # the legs that keep their release, as their weights


def register_releases(ecs: Any, releases: Sequence[Mapping[str, Any]]) -> ReleasesRegistered:
    """Each leg's release revision, found or registered (the canary service's task definition with the new images)."""
    poll = min((int(item["release"]["pollSeconds"]) for item in releases), default=15)
    revisions: list[LegRevision] = []
    for item in releases:
        release = item["release"]
        revision = release_revision(ecs, release["cluster"], release["service"], release["images"])
        # the group reads every release at the shortest poll: each leg's own deploymentTimeoutSeconds in those reads
        checks = -(-int(release["maxChecks"]) * int(release["pollSeconds"]) // poll)
        revisions.append({**revision, "name": item["name"], "lockId": item["lockId"], "maxChecks": checks})
        if item.get("single"):  # a route alone: its texts name no leg
            revisions[-1]["single"] = True
    return {"revisions": revisions, "pollSeconds": poll}


def point_releases(ecs: Any, revisions: Sequence[Mapping[str, Any]], fence_of: Any) -> ReleasesPointed:
    """Each leg's canary service updated to its release's revision, fenced by the leg's lock (point_canary_at_release)."""
    updated = []
    for revision in revisions:
        pointed = point_canary_at_release(
            ecs, revision["cluster"], revision["service"], revision["taskDefinition"], fence_of(revision)
        )
        if pointed["updated"]:
            updated.append(revision["name"])
    return {"updated": updated}


def check_releases(ecs: Any, revisions: Sequence[Mapping[str, Any]], checks: int) -> ReleasesChecked:
    """Every leg's release deployment, read once (onboarding.rollout.check_deployment, as a route alone's)."""
    states, said = [], []
    for revision in revisions:
        found = check_deployment(
            ecs, revision["cluster"], revision["service"], revision["taskDefinition"], checks, int(revision["maxChecks"])
        )
        state = found["verdict"]["state"]
        state = "FAILED" if found["timedOut"] else state if state in ("COMPLETED", "IN_PROGRESS") else "FAILED"
        states.append(state)
        if state != "COMPLETED":
            deployment = f"the canary deployment of {short_name(revision['taskDefinition'])} {found['verdict']['state']}"
            timed_out = " (timed out)" if found["timedOut"] else ""
            leg = "" if revision.get("single") else f"leg {revision['name']}: "
            said.append(f"{leg}{deployment}{timed_out}: {found['verdict'].get('reason', '')}".rstrip(": "))
    state = "FAILED" if "FAILED" in states else "IN_PROGRESS" if "IN_PROGRESS" in states else "COMPLETED"
    return {"state": state, "checks": checks + 1, "summary": "; ".join(said) or f"every release deployed ({len(states)})"}


def restored_legs(rolled_back: Any) -> set[str]:
    """The legs the rollback reports back on their snapshots (restored, or found there). A leg set by hand
    (RouteDrifted), one whose lock another rollout holds now (LockLost), one whose wave could not be put back, and
    every leg when the rollback itself failed, are not: their canaries may carry traffic."""
    if not isinstance(rolled_back, list):
        return set()
    return {
        leg["name"]
        for wave in rolled_back
        for leg in ((wave or {}).get("restored") or {}).get("legs", [])
        if not leg.get("problem")
    }


def undo_releases(ecs: Any, revisions: Sequence[Mapping[str, Any]], rolled_back: Any) -> ReleasesUndone:
    """Each leg's canary service put back on the revision it ran before its release (undo_release: only if it still
    runs the release's), every leg tried; a leg the rollback did not put back keeps its release, as its weights."""
    back = restored_legs(rolled_back)
    done, kept, failed = [], [], []
    transient: TransientAwsError | None = None
    for revision in reversed(revisions):
        leg = "" if revision.get("single") else f"leg {revision['name']}: "  # a route alone names no leg
        if revision["name"] not in back:
            service = f"{revision['cluster']}/{revision['service']}"
            kept.append(f"{leg}ECS service {service} left on the release's revision, as its route")
            continue
        try:
            done.append(f"{leg}{undo_release(ecs, dict(revision))}")
        except TransientAwsError as exc:
            transient = transient or exc
        except MeshRolloutError as exc:
            error, message = readable_failure({"Error": type(exc).__name__, "Cause": str(exc)})
            failed.append(f"{leg}{error}: {message}")
    if transient is not None:
        raise transient
    if failed:
        raise RollbackFailed("; ".join([*failed, *done]))
    return {"done": done, "kept": kept}


def fence_for(dynamodb: Any, table: str, owner: str) -> Any:
    """A leg's lock fence, from its revision's lockId."""
    return lambda revision: LockFence(dynamodb, table, revision["lockId"], owner)
