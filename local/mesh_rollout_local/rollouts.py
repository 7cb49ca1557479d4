"""Operating rollouts in an account: where one stands (`status [--watch]`), stopping one (`abort`) and the
rollouts in progress (`list`, from the route-lock table).

A weight shift's execution history holds all it knows: the route it drives (PlanWeightShift's output), the
snapshot taken before its first write, the steps applied and the approval it waits on. The route's weights now
are read through the traffic interface (functions/mesh_rollout/traffic), whatever the backend.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mesh_rollout_local import approvals, progress
from mesh_rollout_local.history import read_all, started_executions
from mesh_rollout_local.remote import TERMINAL, cause_message

ABORT_ERROR = "mesh-rollout.Aborted"
STOP_FLAG_PREFIX = "stopped:"  # MeshRolloutStateMachine's "stop starting services" items share the lock table
CLEANUP_SUFFIX = "#cleanup"  # ExecutionStatusChange takes a stopped shift's lock as <execution ARN>#cleanup


def describe_weights(weights: dict[str, int] | None) -> str:
    """progress.describe_weights, which says so when a route has no weighted targets."""
    return progress.describe_weights(weights or {}) or "(no weighted targets)"


@dataclass
class Leg:
    """One leg of a group, as the execution's history tells it (and its weights now, once read)."""

    name: str
    route: dict[str, Any]  # the route reference, as a single weight shift's
    after: list[str] = field(default_factory=list)
    snapshot: dict[str, int] | None = None  # its weights before the group's first write (SnapshotLegs)
    moved: dict[str, int] | None = None  # the weights the last MoveLegs wrote
    verdict: str | None = None  # its gate's last verdict (CheckLegs)
    weights: dict[str, int] | None = None  # now: read through the traffic interface (read_legs)

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "route": self.route,
            "after": self.after,
            "weights": self.weights,
            "snapshot": self.snapshot,
            "moved": self.moved,
            "verdict": self.verdict,
        }


@dataclass
class EcsLeg:
    """One ECS-native leg of a group (an ECS deployment moved on the group's steps), as the execution's history
    tells it: its plan (EcsDeploymentPlan) and where ECS holds it at each group step, and the last read of it."""

    name: str
    plan: dict[str, Any]
    after: list[str] = field(default_factory=list)
    targets: list[Any] = field(default_factory=list)  # the percent ECS holds it at, per group step
    read: dict[str, Any] | None = None  # its last read (grouping.ecs_legs.EcsLegRead: state, percent, weights ...)
    verdict: str | None = None  # its gate's last verdict (CheckLegs)

    @property
    def service(self) -> str:
        return f"{self.plan.get('cluster', '?')}/{self.plan.get('service', '?')}"

    def document(self) -> dict[str, Any]:
        read = self.read or {}
        return {
            "name": self.name,
            "service": self.service,
            "strategy": self.plan.get("strategy"),
            "after": self.after,
            "targets": self.targets,
            "serviceDeploymentArn": read.get("serviceDeploymentArn"),
            "state": read.get("state"),
            "percent": read.get("percent"),
            "weights": read.get("weights"),
            "verdict": self.verdict,
        }


@dataclass
class Facts:
    """What an execution's history says about its rollout."""

    arn: str
    status: str
    started: Any
    state_machine: str
    last_state: str | None = None
    route: dict[str, Any] | None = None  # the route reference the state machine passes around
    lock_id: str | None = None
    snapshot: dict[str, int] | None = None  # the weights before the shift's first write
    planned: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    from_percent: Any = None
    canary: str | None = None
    verdicts: list[str] = field(default_factory=list)  # the health gate's verdicts, in order
    pending: approvals.PendingApproval | None = None
    error: str | None = None
    cause: str | None = None
    # a mesh rollout's service executions (states:startExecution.sync tasks), counted from its own history
    children: dict[str, int] = field(default_factory=dict)
    # an ECS deployment (EcsDeploymentStateMachine): its plan ($.plan) and ECS's latest record ($.ecs)
    ecs_plan: dict[str, Any] | None = None
    ecs: dict[str, Any] | None = None
    # a group (a weight shift whose input has legs): its legs' names, every leg, every leg's lock
    group: str | None = None
    legs: list[Leg] = field(default_factory=list)
    lock_ids: list[str] = field(default_factory=list)
    ecs_legs: list[EcsLeg] = field(default_factory=list)  # a group's ECS-native legs


def child_counts(history: list[dict[str, Any]]) -> dict[str, int]:
    """How many executions this one started, and how many of them succeeded or failed (no call per child)."""
    counts = {"started": 0, "succeeded": 0, "failed": 0}
    kinds = {"TaskSubmitted": "started", "TaskSucceeded": "succeeded", "TaskFailed": "failed", "TaskTimedOut": "failed"}
    for event in history:
        kind = kinds.get(event["type"])
        details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        if kind and details.get("resourceType") == "states":
            counts[kind] += 1
    return counts if counts["started"] else {}


def _outputs(history: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for event in history:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("output"):
            output = json.loads(details["output"])
            if isinstance(output, dict):
                yield details["name"], output


def read_facts(sfn: Any, arn: str, history: list[dict[str, Any]] | None = None) -> Facts:
    described = sfn.describe_execution(executionArn=arn)
    history = read_all(sfn, arn) if history is None else history
    facts = Facts(
        arn=arn,
        status=described["status"],
        started=described["startDate"],
        state_machine=described["stateMachineArn"].rsplit(":", 1)[-1],
        error=described.get("error"),
        cause=described.get("cause"),
    )
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    facts.children = child_counts(history)
    facts.last_state = entered[-1] if entered else None
    for name, output in _outputs(history):
        if name == "PlanWeightShift" and isinstance(output.get("route"), dict):
            facts.route, facts.lock_id = output["route"], output.get("lockId")
            facts.planned = [s["percent"] for s in output.get("steps", [])]
            facts.from_percent, facts.canary = output.get("fromPercent"), output.get("canary")
        _group_state(facts, name, output)
        if isinstance(output.get("plan"), dict) and "serviceArn" in output["plan"]:  # EcsDeploymentStateMachine
            facts.ecs_plan, facts.lock_id = output["plan"], output["plan"].get("lockId")
        if facts.ecs_plan is not None and isinstance(output.get("ecs"), dict):
            facts.ecs = output["ecs"]
            for step in output["ecs"].get("steps", []):
                if step.get("verdict") and step["verdict"] not in facts.verdicts[-1:]:
                    facts.verdicts.append(step["verdict"])
        if facts.route is not None and not facts.legs:  # a route alone: the group of one leg it is
            _route_state(facts, name, output)
        verdict = approvals.gate_verdict(output)
        if verdict and verdict not in facts.verdicts[-1:]:
            facts.verdicts.append(verdict)
    if facts.status == "RUNNING":
        facts.pending = approvals.pending_approval(history)
    return facts


MOVES = ("MoveLegs", "MoveLegsGatedBefore", "MoveWaveLegs")  # a step's route legs, in one call or a wave's


def _route_state(facts: Facts, name: str, output: dict[str, Any]) -> None:
    """What a route alone's state data adds: its snapshot (SnapshotLegs' one) and the steps it wrote (MoveLegs)."""
    snapshots = (output.get("snapshotted") or {}).get("snapshots") if isinstance(output.get("snapshotted"), dict) else None
    if facts.snapshot is None and snapshots and isinstance(snapshots[0], dict):
        facts.snapshot = snapshots[0].get("weights")
    moved = output.get("routesMoved")
    if name in MOVES and isinstance(moved, dict) and (not facts.applied or facts.applied[-1] != moved["percent"]):
        facts.applied.append(moved["percent"])


def _group_plan(facts: Facts, plan: dict[str, Any]) -> None:
    """A group's plan (grouping.plan.GroupPlan): its legs, their locks, the group's steps."""
    facts.group, facts.lock_ids = str(plan["group"]), list(plan.get("lockIds") or [])
    facts.legs = [Leg(str(leg["name"]), dict(leg.get("route") or {}), list(leg.get("after") or [])) for leg in plan["legs"]]
    facts.ecs_legs = [
        EcsLeg(str(leg["name"]), dict(leg.get("plan") or {}), list(leg.get("after") or []), list(leg.get("targets") or []))
        for leg in plan.get("ecsLegs") or []
        if isinstance(leg, dict) and "name" in leg
    ]
    facts.planned = [step["percent"] for step in plan.get("steps", [])]


def _group_state(facts: Facts, name: str, output: dict[str, Any]) -> None:
    """What a group's state data adds: its plan (PlanWeightShift), every leg's snapshot (SnapshotLegs, in the legs'
    order), the weights each MoveLegs wrote, each leg's last verdict (CheckLegs' afterStep); each ECS leg's last
    read (ReadEcsLegs, ReadEcsCompletion, ReadEcsRollback) and verdict."""
    if name == "PlanWeightShift" and "group" in output and isinstance(output.get("legs"), list) and not output.get("single"):
        _group_plan(facts, output)
    if not facts.legs and not facts.ecs_legs:
        return
    _ecs_reads(facts, output)
    snapshotted = output.get("snapshotted")
    if isinstance(snapshotted, dict) and all(leg.snapshot is None for leg in facts.legs):
        for leg, snapshot in zip(facts.legs, snapshotted.get("snapshots") or [], strict=False):
            leg.snapshot = snapshot.get("weights") if isinstance(snapshot, dict) else None
    moved = output.get("routesMoved")  # one wave's route legs
    if name in MOVES and isinstance(moved, dict):
        if not facts.applied or facts.applied[-1] != moved["percent"]:  # the step's first wave
            facts.applied.append(moved["percent"])
        written = {leg["name"]: leg.get("weights") for leg in moved.get("legs", [])}
        for leg in facts.legs:
            leg.moved = written.get(leg.name, leg.moved)
    verdicts = dict(approvals.leg_verdicts(output))
    for leg in facts.legs:
        leg.verdict = verdicts.get(leg.name, leg.verdict)
    for ecs_leg in facts.ecs_legs:
        ecs_leg.verdict = verdicts.get(ecs_leg.name, ecs_leg.verdict)


def _ecs_reads(facts: Facts, output: dict[str, Any]) -> None:
    """Each ECS leg's newest read in a group's state data (ReadEcsLegs' $.ecsRead, ReadEcsCompletion's $.ecsDone,
    ReadEcsRollback's $.ecsRollback: a later one wins)."""
    for key in ("ecsRead", "ecsDone", "ecsRollback"):
        read = output.get(key)
        if isinstance(read, dict) and progress.is_ecs_legs_read(read):
            by_name = {str(leg["name"]): leg for leg in read["legs"]}
            for ecs_leg in facts.ecs_legs:
                ecs_leg.read = by_name.get(ecs_leg.name, ecs_leg.read)


@contextmanager
def functions_importable() -> Iterator[None]:
    """The Lambda code's package (functions/ of the checkout the CLI runs from) on sys.path."""
    functions = str(Path(__file__).resolve().parents[2] / "functions")
    added = functions not in sys.path
    if added:
        sys.path.append(functions)
    try:
        yield
    finally:
        if added and functions in sys.path:
            sys.path.remove(functions)


def route_weights(session: Any, reference: dict[str, Any]) -> dict[str, int]:
    """The route's weights now, read through the traffic interface with this session's credentials and Region."""
    backend = str(reference.get("backend", "appmesh"))
    with functions_importable():
        route: Any
        if backend == "lattice":
            from mesh_rollout.traffic.lattice import LatticeRoute

            route = LatticeRoute(reference, lattice=session.client("vpc-lattice"))
        elif backend == "alb":
            from mesh_rollout.traffic.alb import AlbRoute

            route = AlbRoute(reference, elbv2=session.client("elbv2"))
        else:
            from mesh_rollout.traffic.appmesh import AppMeshRoute

            keys = (reference["meshName"], reference["virtualRouterName"], reference["routeName"])
            route = AppMeshRoute(*keys, appmesh=session.client("appmesh"))
        return dict(route.read().weights)


def status_lines(facts: Facts, weights: dict[str, int] | None) -> list[str]:
    """What `status` prints: the execution, and for a weight shift its route now and before, its steps, the gate's
    last verdict and the approval it waits on (a group's: every leg's route, weights now and last verdict, and every
    leg's weights now -> next); for a mesh rollout, where its services' executions are."""
    lines = [
        f"execution {facts.arn}",
        f"  status: {facts.status} (started {facts.started})",
    ]
    if facts.last_state:
        lines.append(f"  last state: {facts.last_state}")
    if facts.route is not None:
        lines.append(f"  route {facts.route.get('label', '?')}: {describe_weights(weights)}")
        if facts.snapshot is not None:
            lines.append(f"  before the shift: {describe_weights(facts.snapshot)}")
        lines.append(
            f"  canary {facts.canary}: steps {facts.planned or 'none'}, applied {facts.applied or 'none'} "
            f"(started at {facts.from_percent}%)"
        )
    if facts.ecs_plan is not None:
        lines += ecs_lines(facts.ecs_plan, facts.ecs)
    if facts.legs or facts.ecs_legs:
        lines += group_lines(facts)
    if facts.verdicts:
        lines.append(f"  last gate verdict: {facts.verdicts[-1]}")
    if facts.children:
        done = facts.children["succeeded"] + facts.children["failed"]
        lines.append(
            f"  services: {facts.children['started']} started, {facts.children['succeeded']} rolled out, "
            f"{facts.children['failed']} failed, {facts.children['started'] - done} in progress"
        )
    if facts.pending is not None and facts.pending.is_group:  # every leg's weights now -> next
        lines.append(f"  waiting for approval of {facts.pending.describe()}:")
        lines += [f"    leg {name}: {change}" for name, _, change in facts.pending.leg_changes()]
        lines += [f"    leg {name}: {change}" for name, _, change in facts.pending.ecs_leg_changes()]
        lines.append(f"    mesh-rollout approve|reject {facts.arn} --comment TEXT")
    elif facts.pending is not None:
        lines.append(f"  waiting for approval of {facts.pending.describe()}: {facts.pending.weights_change()}")
        lines.append(f"    mesh-rollout approve|reject {facts.arn} --comment TEXT")
    if facts.error:
        lines.append(f"  error: {facts.error}: {cause_message(facts.cause)}")
    return lines


def group_lines(facts: Facts) -> list[str]:
    """A group: its steps, then every leg: its route and weights now (read_legs), before the group's first write,
    and its gate's last verdict."""
    legs = len(facts.legs) + len(facts.ecs_legs)
    lines = [
        f"  group {facts.group}: {progress.counted(legs, 'leg')}; steps {facts.planned or 'none'}, "
        f"applied {facts.applied or 'none'}"
    ]
    for leg in facts.legs:
        after = f" (after {', '.join(leg.after)})" if leg.after else ""
        now = describe_weights(leg.weights) if leg.weights is not None else "weights not read"
        lines.append(f"  leg {leg.name}{after}: route {leg.route.get('label', '?')}: {now}")
        if leg.snapshot is not None:
            lines.append(f"    before the group: {describe_weights(leg.snapshot)}")
        lines.append(f"    last verdict: {leg.verdict or 'none yet'}")
    for ecs_leg in facts.ecs_legs:
        lines += ecs_leg_lines(ecs_leg)
    return lines


def ecs_leg_lines(leg: EcsLeg) -> list[str]:
    """An ECS leg of a group: its service, strategy and where each group step holds it, then its deployment as the
    execution last read it (state, percent, production weights by target group name) and its gate's last verdict."""
    after = f" (after {', '.join(leg.after)})" if leg.after else ""
    held = " -> ".join(f"{target}%" for target in leg.targets) or "none"
    lines = [f"  leg {leg.name}{after}: ECS service {leg.service} ({leg.plan.get('strategy', '?')}), held at {held}"]
    read = leg.read
    if not read or not read.get("serviceDeploymentArn"):
        lines.append("    ECS deployment: not started yet" if not read else f"    ECS deployment: {read.get('reason', 'none')}")
    else:
        lines.append(f"    deployment {read['serviceDeploymentArn']}")
        line = progress.ecs_read_line(read, progress.rule_target_names({"plan": leg.plan}))
        lines.append("    last read: " + line.split(": ", 1)[1])
    lines.append(f"    last verdict: {leg.verdict or 'none yet'}")
    return lines


def ecs_lines(plan: dict[str, Any], ecs: dict[str, Any] | None) -> list[str]:
    """An ECS deployment as its execution last read it: the service, the strategy's steps, ECS's stage and state,
    the production weights (by target group) and the steps judged, with their verdicts and our answers."""
    service = f"{plan.get('cluster', '?')}/{plan.get('service', '?')}"
    steps = " -> ".join(f"{step}%" for step in plan.get("steps", [])) or "none"
    approvals_at = ", ".join(f"{step}%" for step in plan.get("approvalSteps", []))
    approving = f", approval before {approvals_at}" if approvals_at else ""
    lines = [f"  ECS deployment of {service}: {plan.get('strategy')} {steps}{approving}"]
    if not ecs:
        return [*lines, "  ECS: not started yet"]
    lines.append(f"  deployment {ecs.get('serviceDeploymentArn')}")
    if ecs.get("stage") or ecs.get("state"):
        reason = f": {ecs['statusReason']}" if ecs.get("statusReason") else ""
        lines.append(f"  ECS stage: {ecs.get('stage') or '?'} ({ecs.get('state') or '?'}, {ecs.get('status') or '?'}{reason})")
    if ecs.get("weights"):
        weights = progress.ecs_weights(ecs["weights"], progress.rule_target_names({"plan": plan}))
        lines.append(f"  production: {weights} ({ecs.get('percent', '?')}% on the new revision)")
    for step in ecs.get("steps", []):
        lines.append(f"  step {step.get('percent')}% at {step.get('stage')}: {step.get('action')}, {step.get('verdict')}")
    return lines


def _weights_or_none(session: Any, facts: Facts) -> dict[str, int] | None:
    """The route's weights now (a weight shift's), None without a route; a group's legs' are read into its legs."""
    read_legs(session, facts)
    return route_weights(session, facts.route) if facts.route is not None else None


def read_legs(session: Any, facts: Facts) -> None:
    """Every leg's weights now, read through the traffic interface as a single route's (route_weights)."""
    for leg in facts.legs:
        leg.weights = route_weights(session, leg.route)


def status_document(facts: Facts, weights: dict[str, int] | None) -> dict[str, Any]:
    """What `status` prints, as data (`--output json`): every key always there, null when it does not apply."""
    children = facts.children
    services = None
    if children:
        services = {**children, "inProgress": children["started"] - children["succeeded"] - children["failed"]}
    pending: dict[str, Any] | None = None
    if facts.pending is not None:
        pending = {"step": facts.pending.describe(), "weightsChange": facts.pending.weights_change()}
        if facts.pending.is_group:
            changes = facts.pending.leg_changes()
            pending["legs"] = [{"name": name, "route": route, "weightsChange": change} for name, route, change in changes]
            pending["legs"] += [
                {"name": name, "service": service, "percentChange": change}
                for name, service, change in facts.pending.ecs_leg_changes()
            ]
    return {
        "executionArn": facts.arn,
        "stateMachine": facts.state_machine,
        "status": facts.status,
        "startDate": facts.started,
        "lastState": facts.last_state,
        "route": facts.route,
        "weights": weights,  # the route's weights now
        "snapshot": facts.snapshot,  # the route's weights before the shift's first write
        "lockId": facts.lock_id,
        "canary": facts.canary,
        "steps": facts.planned,
        "applied": facts.applied,
        "fromPercent": facts.from_percent,
        "ecsPlan": facts.ecs_plan,
        "ecs": facts.ecs,
        "verdicts": facts.verdicts,
        "services": services,
        "pendingApproval": pending,
        "group": facts.group,
        "legs": [leg.document() for leg in facts.legs] if facts.legs else None,  # a group's: each with its weights now
        "ecsLegs": [leg.document() for leg in facts.ecs_legs] if facts.ecs_legs else None,  # as last read
        "lockIds": facts.lock_ids or None,
        "error": facts.error,
        "cause": facts.cause,
    }


def read_status(session: Any, arn: str) -> tuple[Facts, dict[str, int] | None]:
    """An execution's facts and, for a weight shift, its route's weights now."""
    facts = read_facts(session.client("stepfunctions"), arn)
    return facts, _weights_or_none(session, facts)


def status(session: Any, arn: str, out: TextIO) -> str:
    """Where an execution stands: status, last state, and for a weight shift the route, steps, gate and approval."""
    facts = read_facts(session.client("stepfunctions"), arn)
    for line in status_lines(facts, _weights_or_none(session, facts)):
        print(line, file=out)
    return facts.status


def watch(session: Any, arn: str, out: TextIO, interval: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> str:
    """`status --watch`: the status again whenever it changes (a step applied, a verdict, an approval asked for),
    with the time it changed, until the execution ends."""
    sfn, shown = session.client("stepfunctions"), None
    while True:
        facts = read_facts(sfn, arn)
        lines = status_lines(facts, _weights_or_none(session, facts))
        if lines != shown:
            print(f"--- {dt.datetime.now(dt.UTC).strftime('%H:%M:%S')} UTC", file=out)
            for line in lines:
                print(line, file=out, flush=True)
            shown = lines
        if facts.status in TERMINAL:
            return facts.status
        sleep(interval)


def abort(
    session: Any,
    arn: str,
    reason: str,
    out: TextIO,
    wait: bool = True,
    timeout: float = 300.0,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Stop an execution (StopExecution, recording who and why) and, for a weight shift, wait until the
    ExecutionStatusChange function has put the route back to its snapshot. True when the route is back (or the
    execution drove no route); False when it did not come back within `timeout` seconds."""
    sfn = session.client("stepfunctions")
    history = read_all(sfn, arn)
    facts = read_facts(sfn, arn, history)
    if facts.status != "RUNNING":
        print(f"{arn} already ended: {facts.status}; nothing stopped", file=out)
    else:
        who = session.client("sts").get_caller_identity()["Arn"]
        cause = f"aborted by {who}" + (f": {reason}" if reason else "")
        sfn.stop_execution(executionArn=arn, error=ABORT_ERROR, cause=cause)
        print(f"stopped {arn} in {facts.last_state or 'its first state'} ({cause})", file=out, flush=True)
        for child in running_children(sfn, history):  # a mesh rollout's services (one execution each)
            sfn.stop_execution(executionArn=child, error=ABORT_ERROR, cause=f"{cause} (its parent {arn} was aborted)")
            print(f"  stopped {child}, started by it", file=out, flush=True)
    if facts.ecs_plan is not None:
        return _ecs_aborted(facts, out)
    if facts.legs or facts.ecs_legs:
        return _group_aborted(session, facts, out, wait, timeout, poll, sleep)
    if facts.route is None or facts.snapshot is None:
        note = "it had not changed a route" if facts.route is not None else "it drives no route"
        print(f"  nothing to restore: {note}", file=out)
        return True
    label, snapshot = facts.route.get("label", "?"), facts.snapshot
    if not wait:
        print(f"  not waiting: ExecutionStatusChange puts route {label} back to {describe_weights(snapshot)}", file=out)
        return True
    print(f"  waiting for ExecutionStatusChange to restore route {label} to {describe_weights(snapshot)}", file=out, flush=True)
    deadline = time.monotonic() + timeout
    while True:
        weights = route_weights(session, facts.route)
        if same_weights(weights, snapshot):
            print(f"  route {label} restored: {describe_weights(weights)}", file=out)
            return True
        if time.monotonic() >= deadline:
            print(
                f"  route {label} is still at {describe_weights(weights)} after {timeout:.0f} s (its snapshot: "
                f"{describe_weights(snapshot)}); the ExecutionStatusChange function's notification says why",
                file=out,
            )
            return False
        sleep(poll)


def same_weights(weights: dict[str, int], snapshot: dict[str, int]) -> bool:
    """A route back at its snapshot: the same weights, a target at 0 or absent alike."""
    return weights == snapshot or {k: v for k, v in weights.items() if v} == {k: v for k, v in snapshot.items() if v}


def _group_aborted(
    session: Any, facts: Facts, out: TextIO, wait: bool, timeout: float, poll: float, sleep: Callable[[float], None]
) -> bool:
    """What happens to an aborted group: the ExecutionStatusChange function puts every leg the group changed back
    to its snapshot (in rollback order) and frees every lock; with `wait`, until every leg is back or `timeout`. An
    ECS leg's deployment is rolled back by ECS (that function answers ROLLBACK or stops it with a rollback): not
    waited for, said."""
    for ecs_leg in facts.ecs_legs:
        deployment = (ecs_leg.read or {}).get("serviceDeploymentArn")
        if deployment:
            print(
                f"  leg {ecs_leg.name}: ECS deployment of {ecs_leg.service} ({deployment}): the ExecutionStatusChange"
                " function rolls it back; its notification says how it ended",
                file=out,
            )
    legs = [leg for leg in facts.legs if leg.snapshot is not None]
    if not legs:
        print(f"  nothing to restore: it had not changed any of its {progress.counted(len(facts.legs), 'leg')}", file=out)
        return True
    if not wait:
        print(f"  not waiting: ExecutionStatusChange puts every leg of group {facts.group} back to its snapshot", file=out)
        for leg in legs:
            print(f"    leg {leg.name}: route {leg.route.get('label', '?')} back to {describe_weights(leg.snapshot)}", file=out)
        return True
    print(
        f"  waiting for ExecutionStatusChange to restore {progress.counted(len(legs), 'leg')} of group {facts.group}"
        " to their snapshots",
        file=out,
        flush=True,
    )
    deadline = time.monotonic() + timeout
    while True:
        now = {leg.name: route_weights(session, leg.route) for leg in legs}
        back = all(same_weights(now[leg.name], leg.snapshot or {}) for leg in legs)
        if back or time.monotonic() >= deadline:
            break
        sleep(poll)
    for leg in legs:
        label, weights = leg.route.get("label", "?"), now[leg.name]
        if same_weights(weights, leg.snapshot or {}):
            print(f"  leg {leg.name}: route {label} restored: {describe_weights(weights)}", file=out)
        else:
            print(
                f"  leg {leg.name}: route {label} is still at {describe_weights(weights)} after {timeout:.0f} s"
                f" (its snapshot: {describe_weights(leg.snapshot)})",
                file=out,
            )
    if not back:
        print("  the ExecutionStatusChange function's notification says why", file=out)
    return back


def _ecs_aborted(facts: Facts, out: TextIO) -> bool:
    """What happens to an aborted ECS deployment: nothing restores a route; the ExecutionStatusChange function rolls
    ECS back (ContinueServiceDeployment ROLLBACK at a pause, StopServiceDeployment stopType ROLLBACK otherwise) and
    frees the service's lock. Should that function fail too, the pause's own timeoutConfiguration (ROLLBACK) does."""
    plan, deployment = facts.ecs_plan or {}, (facts.ecs or {}).get("serviceDeploymentArn")
    service = f"{plan.get('cluster', '?')}/{plan.get('service', '?')}"
    if not deployment:
        print(f"  nothing to roll back: it had not started an ECS deployment of {service}", file=out)
        return True
    print(
        f"  ECS deployment of {service} ({deployment}): the ExecutionStatusChange function rolls it back"
        f" (ContinueServiceDeployment ROLLBACK at a pause, else StopServiceDeployment ROLLBACK) and frees lock"
        f" {facts.lock_id}; its notification says how it ended",
        file=out,
    )
    print(f"    aws ecs describe-service-deployments --service-deployment-arns {deployment}", file=out)
    return True


def running_children(sfn: Any, history: list[dict[str, Any]]) -> list[str]:
    """The executions this one started (states:startExecution tasks) that still run."""
    return [arn for arn in started_executions(history) if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"]


@dataclass(frozen=True)
class HeldLock:
    lock_id: str
    owner: str
    expires_at: int


def held_locks(dynamodb: Any, table: str, now: float | None = None) -> list[HeldLock]:
    """The route locks in the table that have not expired (a scan: the table holds one item per route in
    rollout), by route; MeshRolloutStateMachine's stop flags are not locks and are left out."""
    now = time.time() if now is None else now
    found = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            lock_id = item["lockId"]["S"]
            expires = int(item.get("expiresAt", {}).get("N", "0"))
            if lock_id.startswith(STOP_FLAG_PREFIX) or "owner" not in item or expires < now:
                continue
            found.append(HeldLock(lock_id, item["owner"]["S"], expires))
    return sorted(found, key=lambda lock: lock.lock_id)


def rollouts_in_progress(session: Any, table: str, now: float | None = None) -> list[dict[str, Any]]:
    """What `list` prints, as data (`--output json`): per lock, the route, the execution holding it, its status
    (null if the execution does not exist) and where it is."""
    locks = held_locks(session.client("dynamodb"), table, now)
    if not locks:
        return []
    sfn = session.client("stepfunctions")
    found = []
    for lock in locks:
        owner, cleaning = lock.owner.removesuffix(CLEANUP_SUFFIX), lock.owner.endswith(CLEANUP_SUFFIX)
        row: dict[str, Any] = {"lockId": lock.lock_id, "route": progress.lock_label(lock.lock_id), "executionArn": owner}
        row["lockExpiresAt"] = lock.expires_at  # epoch seconds, as the table holds it
        try:
            facts = read_facts(sfn, owner)
        except sfn.exceptions.ExecutionDoesNotExist:
            found.append({**row, "status": None, "where": None})
            continue
        found.append({**row, "status": facts.status, "where": _where(facts, cleaning)})
    return found


def _where(facts: Facts, cleaning: bool) -> str:
    """Where a locked rollout is: being cleaned up, waiting an approval, at ECS's step, or at its last step."""
    if cleaning:
        return "being restored" if facts.ecs_plan is None else "being rolled back"
    if facts.pending is not None:
        step = facts.pending.item.get("step", {})
        percent = facts.pending.ecs_next_percent() if facts.ecs_plan else step.get("percent", "?")
        return f"waiting approval of {percent}%"
    if facts.ecs:
        return f"ECS {facts.ecs.get('percent', 0)}% {facts.ecs.get('stage') or facts.ecs.get('state') or ''}".rstrip()
    return f"{facts.applied[-1]}% applied" if facts.applied else (facts.last_state or "-")


def list_rollouts(session: Any, table: str, out: TextIO, now: float | None = None) -> int:
    """One line per route in rollout: the route, the execution holding it, its status and where it is."""
    rows = rollouts_in_progress(session, table, now)
    if not rows:
        print(f"no rollout in progress (route-lock table {table} holds no lock)", file=out)
        return 0
    now = time.time() if now is None else now
    print(f"{'route':<44} {'status':<10} {'where':<28} execution", file=out)
    for row in rows:
        if row["status"] is None:
            print(f"{row['lockId']:<44} {'?':<10} {'(no such execution)':<28} {row['executionArn']}", file=out)
            continue
        hours = (row["lockExpiresAt"] - now) / 3600
        line = f"{row['route']:<44} {row['status']:<10} {row['where']:<28} {row['executionArn']}"
        print(f"{line} (lock expires in {hours:.1f} h)", file=out)
    return len(rows)
