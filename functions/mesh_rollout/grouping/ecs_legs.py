"""A group's ECS-native legs: an ECS deployment (BLUE_GREEN, LINEAR or CANARY, with our PAUSE hook) moved on the
group's steps through ECS, with the EcsDeploymentStateMachine's own functions (deploying.start, .status, .decide).

ECS shifts traffic itself, one of its own steps at a time, and pauses at our hook before each step and once at 100%
(deploying.status). At the group's step to P% an ECS leg is taken to its last pause at or below P (target_of): the
pauses before it are answered CONTINUE without a verdict (ECS's own alarms still watch them), the one it is held at is
judged with the other legs' gates. ECS takes its bakes to get there, so the group waits (a read loop) until every ECS leg has
reached the step before the route legs move (an ECS leg moves first: it cannot wait for another leg).

Nothing is carried between the group's steps but the plan: each leg's deployment is the one its lock item records
(deploying.service_lock: StartEcsDeployment writes it there), and ECS itself says where it stands. A rollback is
ECS's: our pause answered ROLLBACK, or the deployment stopped with a rollback (deploying.cleanup.roll_back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

from mesh_rollout import clock
from mesh_rollout.aws.ecs_deployments import describe_deployment
from mesh_rollout.deploying.cleanup import roll_back
from mesh_rollout.deploying.decide import answer
from mesh_rollout.deploying.service_lock import lock_item
from mesh_rollout.deploying.start import start_deployment
from mesh_rollout.deploying.status import POST, read_deployment, step_check
from mesh_rollout.errors import LockLost

Mode = Literal["step", "complete", "rollback"]
# what the read loop does next: every leg where it should be; some pause to answer CONTINUE; ECS still moving; a
# leg that ended without getting there (rolled back by ECS, stopped, superseded, or not read in time)
REACHED, CONTINUE, MOVING, FAILED = "REACHED", "CONTINUE", "MOVING", "FAILED"
ENDED_BADLY = {"ROLLED_BACK", "ROLLBACK_FAILED", "STOPPED", "SUPERSEDED", "TIMED_OUT", "ROLLING_BACK"}
IN_PROGRESS = {"RUNNING", "PAUSED", "ROLLING_BACK"}
ERRORS = {"SUPERSEDED": "DeploymentSuperseded", "TIMED_OUT": "DeploymentTimedOut", "NOT_STARTED": "DeploymentFailed"}
ERRORS.update(dict.fromkeys(("ROLLED_BACK", "ROLLBACK_FAILED", "ROLLING_BACK", "STOPPED"), "EcsRolledBack"))


class EcsLegRead(TypedDict):
    name: str
    serviceDeploymentArn: str | None
    state: str  # the deployment's (deploying.status.classify), or NOT_STARTED
    percent: int | float
    target: int | float
    next: str  # REACHED, CONTINUE, MOVING or FAILED
    pause: NotRequired[dict[str, Any] | None]
    weights: NotRequired[dict[str, Any]]
    reason: NotRequired[str]


class EcsLegsRead(TypedDict):
    """ReadEcsLegs' result: what the loop does next (the worst leg's), the legs, the reads so far, the wait; FAILED
    says the error a failed leg names (EcsRolledBack, DeploymentSuperseded, DeploymentTimedOut, DeploymentFailed)."""

    state: str
    error: str
    summary: str
    polls: int
    waitSeconds: int
    legs: list[EcsLegRead]


class EcsLegsAnswered(TypedDict):
    """What StartEcsLegs, ContinueEcsLegs and RollBackEcsLegs did, and when to read again (ReadEcsLegs counts on)."""

    done: list[str]
    polls: int
    waitSeconds: int


def target_of(plan: Mapping[str, Any], percent: int | float) -> int | float:
    """ECS's last step at or below the group's percent: where the leg is held for the group's step. An ECS leg never
    carries more of its traffic than the group's step gives every leg (a CANARY leg does not go to 100% at a group
    step of 50, past an approval before 100%); the group's last step is 100%, where every leg gets there."""
    return max((step for step in plan["steps"] if step <= percent), default=0)


def deployment_of(dynamodb: Any, table: str, leg: Mapping[str, Any], owner: str) -> str | None:
    """The deployment the leg's lock records for this execution (None before StartEcsLegs recorded one)."""
    item = lock_item(dynamodb, table, leg["lockId"], live=False)
    if item is None or item["owner"] not in (owner, f"{owner}#cleanup"):
        if item is not None:
            raise LockLost(f"{leg['lockId']}: this execution no longer holds the lock (now {item['owner']})")
        return None
    return item["serviceDeploymentArn"]


def start_legs(ecs: Any, dynamodb: Any, table: str, legs: Sequence[Mapping[str, Any]], owner: str) -> EcsLegsAnswered:
    """Every ECS leg's deployment started (UpdateService with the plan's revision and our PAUSE hook), once: a retry
    finds the deployment its lost call started (deploying.start)."""
    done, wait = [], 0
    for leg in legs:
        started = start_deployment(ecs, dynamodb, table, dict(leg["plan"]), owner)
        done.append(f"leg {leg['name']}: ECS deployment {started['serviceDeploymentArn']} started")
        wait = max(wait, started["waitSeconds"])
    return {"done": done, "polls": 0, "waitSeconds": wait}


def _leg_read(ecs: Any, leg: Mapping[str, Any], arn: str | None, percent: int | float, polls: int, mode: Mode) -> EcsLegRead:
    plan = dict(leg["plan"])
    target = 100 if mode == "complete" else target_of(plan, percent)
    if arn is None:
        return {
            "name": leg["name"],
            "serviceDeploymentArn": None,
            "state": "NOT_STARTED",
            "percent": 0,
            "target": target,
            "next": REACHED if mode == "rollback" else FAILED,
            "reason": "no deployment was started",
        }
    record = read_deployment(ecs, plan, {"serviceDeploymentArn": arn, "startedAt": 0, "polls": polls, "steps": []})
    state, pause = record["state"], record.get("pause")
    at = pause["percent"] if pause else record.get("percent", 0)
    found: EcsLegRead = {
        "name": leg["name"],
        "serviceDeploymentArn": arn,
        "state": state,
        "percent": at,
        "target": target,
        "next": MOVING,
        "pause": dict(pause) if pause else None,
        "weights": record.get("weights", {}),
    }
    if mode == "rollback":
        found["next"] = MOVING if state in IN_PROGRESS else REACHED
    elif state == "SUCCESSFUL":
        found["next"] = REACHED
    elif state in ENDED_BADLY or (mode == "complete" and state not in IN_PROGRESS):
        found["next"] = FAILED
        found["reason"] = f"ECS deployment {state}: {record.get('rollbackReason') or record.get('statusReason') or ''}".rstrip(
            ": "
        )
    elif state == "PAUSED" and pause is not None:
        held = mode == "step" and (at > target or (at == target and (at < 100 or pause["stage"] == POST)))
        found["next"] = REACHED if held else CONTINUE
    return found


def read_legs(
    ecs: Any,
    dynamodb: Any,
    table: str,
    legs: Sequence[Mapping[str, Any]],
    owner: str,
    percent: int | float,
    polls: int,
    mode: Mode,
) -> EcsLegsRead:
    """Where every ECS leg stands against the group's step (`mode` step: its last pause at or below `percent`;
    complete: its deployment SUCCESSFUL; rollback: no longer in progress), and what the loop does next."""
    reads = [_leg_read(ecs, leg, deployment_of(dynamodb, table, leg, owner), percent, polls + 1, mode) for leg in legs]
    order = (FAILED, CONTINUE, MOVING, REACHED)
    state = next(s for s in order if any(r["next"] == s for r in reads)) if reads else REACHED
    failed = [r for r in reads if r["next"] == FAILED]
    said = [f"leg {r['name']}: {r['state']} at {r['percent']}%" + (f" ({r['reason']})" if r.get("reason") else "") for r in reads]
    wait = min((int(leg["plan"]["pollSeconds"]) for leg in legs), default=30)
    summary = "; ".join(said if not failed else [s for s, r in zip(said, reads, strict=True) if r in failed])
    error = ERRORS.get(failed[0]["state"], "DeploymentFailed") if failed else ""
    return {"state": state, "error": error, "summary": summary, "polls": polls + 1, "waitSeconds": wait, "legs": reads}


def continue_legs(
    ecs: Any, dynamodb: Any, table: str, legs: Sequence[Mapping[str, Any]], reads: Sequence[Mapping[str, Any]], owner: str
) -> EcsLegsAnswered:
    """CONTINUE at each pause the read found short of its target (completing: at the final pause), and only there."""
    by_name = {leg["name"]: leg for leg in legs}
    done, wait = [], 0
    for read in reads:
        if read["next"] != CONTINUE:  # a leg held at the step waits for the group's gate, even at 100%
            continue
        record = {
            "serviceDeploymentArn": read["serviceDeploymentArn"],
            "startedAt": 0,
            "polls": 0,
            "steps": [],
            "pause": read.get("pause"),
        }
        answered = answer(ecs, dynamodb, table, dict(by_name[read["name"]]["plan"]), record, "CONTINUE", owner)
        done.append(f"leg {read['name']}: CONTINUE at {read['percent']}% ({', '.join(answered.get('answered', []))})")
        wait = max(wait, answered["waitSeconds"])
    return {"done": done, "polls": 0, "waitSeconds": wait}


def roll_back_legs(ecs: Any, dynamodb: Any, table: str, legs: Sequence[Mapping[str, Any]], owner: str) -> EcsLegsAnswered:
    """Every started ECS leg rolled back by ECS (our pause answered ROLLBACK, or the deployment stopped with one)."""
    done = []
    for leg in legs:
        try:
            arn = deployment_of(dynamodb, table, leg, owner)
        except LockLost as exc:
            done.append(f"leg {leg['name']} left alone: {exc}")
            continue
        done.append(f"leg {leg['name']}: {roll_back(ecs, arn)}" if arn else f"leg {leg['name']}: no ECS deployment was started")
    wait = min((int(leg["plan"]["pollSeconds"]) for leg in legs), default=30)
    return {"done": done, "polls": 0, "waitSeconds": wait}


def leg_verdict(
    cloudwatch: Any,
    ecs: Any,
    leg: Mapping[str, Any],
    read: Mapping[str, Any],
    checks: int,
    deployment: Callable[[Mapping[str, Any]], Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """The ECS leg's gate at the pause the group's step holds it at (deploying.status.step_check: its healthGate over
    the step's bake, compared with its stable side when it has a judge). With `deployment` (the leg's deployment as
    ECS describes it, None before one was started), a deployment ECS has rolled back or stopped by itself (its
    alarms, its circuit breaker, a pause's timeout) is UNHEALTHY at once, with ECS's reason."""
    described = deployment(leg) if deployment is not None else None
    if described is not None and described.get("status") not in ("PENDING", "IN_PROGRESS", "SUCCESSFUL"):
        reason = (described.get("rollback") or {}).get("reason") or described.get("statusReason") or "no reason given"
        said = f"ECS deployment {described.get('status')}: {reason}"
        return {"state": "UNHEALTHY", "reasons": [said], "checks": checks + 1, "summary": f"UNHEALTHY: {said}"}
    now = clock.now().timestamp()
    state = {"pause": {"percent": read["percent"]}, "startedAt": now, "continuedAt": now}
    return dict(step_check(cloudwatch, ecs, dict(leg["plan"]), state, checks))


def described_deployment(
    ecs: Any, dynamodb: Any, table: str, owner: str
) -> Callable[[Mapping[str, Any]], Mapping[str, Any] | None]:
    """leg_verdict's `deployment`: the leg's deployment (the one its lock records for `owner`) as ECS describes it."""

    def describe(leg: Mapping[str, Any]) -> Mapping[str, Any] | None:
        arn = deployment_of(dynamodb, table, leg, owner)
        return describe_deployment(ecs, arn) if arn else None

    return describe
