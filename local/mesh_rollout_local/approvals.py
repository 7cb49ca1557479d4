"""Answer a weight shift's approval request with IAM credentials (`mesh-rollout approve|reject`).

The execution waits on a task token that only its history holds (the parameters of the
RequestApproval task). Whoever may read that history and call SendTaskSuccess can answer; the
answer records who they are (STS GetCallerIdentity) and their comment, and becomes part of the
execution's output. Tokens are never printed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.history import read_all
from mesh_rollout_local.progress import counted, describe_weights, ecs_weights, rule_target_names

WAIT_RESOURCE = "invoke.waitForTaskToken"
ENDED = {"TaskSucceeded", "TaskFailed", "TaskTimedOut"}


class NoPendingApproval(Exception):
    """The execution is not waiting for an approval."""


@dataclass(frozen=True)
class PendingApproval:
    """One approval request an execution waits on. `token` is kept out of repr and printing."""

    scheduled_event_id: int
    item: dict[str, Any]
    token: str = field(repr=False)
    last_verdict: str | None = None  # the health gate's last verdict before the request, from the history
    # a group's: each leg's last verdict before the request (leg name, its gate's summary), from the history
    leg_verdicts: tuple[tuple[str, str], ...] = ()

    @property
    def is_group(self) -> bool:
        """A group's step (RequestGroupApproval: its Map iteration's state, with every leg), not a route alone's."""
        return isinstance(self.item.get("legs"), list) and "group" in self.item and self.alone is None

    @property
    def alone(self) -> dict[str, Any] | None:
        """A route alone's one leg (the group of one leg it is: grouping.plan.route_alone), else None."""
        legs = self.item.get("legs")
        if isinstance(legs, list) and len(legs) == 1 and isinstance(legs[0], dict) and legs[0].get("single"):
            return legs[0]
        return None

    def describe(self) -> str:
        if "ecs" in self.item and "plan" in self.item:  # EcsDeploymentStateMachine: {plan, ecs, check}
            plan = self.item["plan"]
            following = self.ecs_next_percent()
            step = f"the step to {following}%" if following is not None else "the end"
            return f"{step} of ECS deployment {plan.get('cluster', '?')}/{plan.get('service', '?')}"
        if self.is_group:
            legs = counted(len(self.item["legs"]) + len(self.item.get("ecsLegs") or []), "leg")
            return f"the step to {self.item.get('step', {}).get('percent', '?')}% of group {self.item.get('group')} ({legs})"
        route = (self.alone or self.item).get("route", {}).get("label", "?")
        return f"the step to {self.item.get('step', {}).get('percent', '?')}% on route {route}"

    def ecs_next_percent(self) -> Any:
        """An ECS deployment's next step (percent of production on the new revision), None after the last."""
        ecs, plan = self.item.get("ecs") or {}, self.item.get("plan") or {}
        percent = (ecs.get("pause") or {}).get("percent", ecs.get("percent", 0)) or 0
        return next((step for step in plan.get("steps", []) if step > percent), None)

    def weights_change(self) -> str:
        """`serviceB 50 / serviceBv2 50 -> serviceB 0 / serviceBv2 100`: the route now and after the step (an ECS
        deployment: its production weights now and ECS's stage)."""
        if "ecs" in self.item and "plan" in self.item:
            ecs = self.item["ecs"]
            weights = ecs_weights(ecs.get("weights"), rule_target_names(self.item))
            return f"{weights} ({(ecs.get('pause') or {}).get('stage', ecs.get('stage'))})"
        if self.is_group:
            changes = self.leg_changes() + self.ecs_leg_changes()
            return "; ".join(f"leg {name}: {change}" for name, _, change in changes)
        if self.alone is not None:
            return self.leg_changes()[0][2]
        step = self.item.get("step", {})
        before, after = (describe_weights(step.get(key) or {}) or "?" for key in ("previous", "weights"))
        return f"{before} -> {after}"

    def leg_changes(self) -> list[tuple[str, str, str]]:
        """A group's step, leg by leg: (leg, its route, `now -> next`), the weights of the leg's own step
        (legs[i].steps[step.index]: previous and weights)."""
        index = self.item.get("step", {}).get("index")
        changes = []
        for leg in self.item.get("legs", []):
            steps = leg.get("steps") or []
            own = steps[index] if isinstance(index, int) and 0 <= index < len(steps) else {}
            before, after = (describe_weights(own.get(key) or {}) or "?" for key in ("previous", "weights"))
            changes.append((str(leg.get("name", "?")), str((leg.get("route") or {}).get("label", "?")), f"{before} -> {after}"))
        return changes

    def ecs_leg_changes(self) -> list[tuple[str, str, str]]:
        """A group's step for its ECS legs: (leg, its service `cluster/service`, `now% -> next%`), the percent ECS
        holds the leg at for the previous group step and for this one (ecsLegs[i].targets; 0% before the first)."""
        index = self.item.get("step", {}).get("index")
        changes = []
        for leg in self.item.get("ecsLegs") or []:
            plan, targets = leg.get("plan") or {}, leg.get("targets") or []
            if isinstance(index, int) and 0 <= index < len(targets):
                change = f"{targets[index - 1] if index > 0 else 0}% -> {targets[index]}%"
            else:
                change = "?"
            service = f"{plan.get('cluster', '?')}/{plan.get('service', '?')}"
            changes.append((str(leg.get("name", "?")), service, f"{change} of production on the new revision"))
        return changes

    def verdict(self) -> str:
        """The health gate's verdict the step waits with (the gate runs before the approval is asked for)."""
        health = self.item.get("health") or self.item.get("check") or {}
        return str(health.get("summary") or self.last_verdict or "no health verdict yet")

    def lines(self) -> list[str]:
        """What the approval prompt shows under its question: the weights now and next and the gate's verdict; for
        a group, each leg's (its route, weights now -> next, its last verdict) after the group's verdict."""
        if not self.is_group:
            return [f"weights: {self.weights_change()}", f"health:  {self.verdict()}"]
        verdicts = dict(self.leg_verdicts)
        lines = [f"health:  {self.verdict()}"]
        for name, route, change in self.leg_changes():
            lines += [f"leg {name} (route {route}): {change}", f"  health: {verdicts.get(name, 'no health verdict yet')}"]
        for name, service, change in self.ecs_leg_changes():
            lines += [f"leg {name} (ECS service {service}): {change}", f"  health: {verdicts.get(name, 'no health verdict yet')}"]
        return lines


def pending_approval(history: list[dict[str, Any]]) -> PendingApproval | None:
    """The approval request still waiting in an execution history (events in order), if any."""
    waiting: list[dict[str, Any]] = []
    verdict: str | None = None
    legs: tuple[tuple[str, str], ...] = ()
    for event in history:
        details = event.get("taskScheduledEventDetails") or {}
        gate = _exited_with_gate(event)
        if gate is not None:
            verdict = gate_verdict(gate) or verdict
            legs = leg_verdicts(gate) or legs
        if event["type"] == "TaskScheduled" and details.get("resource") == WAIT_RESOURCE:
            waiting.append({**event, "verdict": verdict, "legs": legs})
        elif event["type"] in ENDED and waiting:
            ended: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            if ended.get("resource") == WAIT_RESOURCE:
                waiting.pop(0)
    if not waiting:
        return None
    event = waiting[-1]
    payload = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]
    return PendingApproval(event["id"], payload.get("item", {}), payload["taskToken"], event["verdict"], event["legs"])


def gate_verdict(output: Any) -> str | None:
    """The summary of the newest health-gate verdict a weight shift's state data carries: the one after its step
    (`afterStep`), else the one before it (`health`); None if it carries neither."""
    for gate in ("afterStep", "health"):
        verdict = output.get(gate) if isinstance(output, dict) else None
        if isinstance(verdict, dict) and verdict.get("summary"):
            return str(verdict["summary"])
    return None


def leg_verdicts(output: Any) -> tuple[tuple[str, str], ...]:
    """Each leg's summary in the newest group verdict (CheckLegs' GroupVerdict) a group's state data carries, in
    the same order as gate_verdict looks: (leg name, summary) pairs; () if it carries none."""
    for gate in ("afterStep", "health"):
        verdict = output.get(gate) if isinstance(output, dict) else None
        legs = verdict.get("legs") if isinstance(verdict, dict) and verdict.get("summary") else None
        if isinstance(legs, list):
            return tuple((str(leg.get("name")), str(leg.get("summary"))) for leg in legs if isinstance(leg, dict))
    return ()


def _exited_with_gate(event: dict[str, Any]) -> Any:
    """A state's output, if the event is a state's exit whose output may carry a gate's verdict (outputs without a
    summary are not parsed); else None."""
    details = event.get("stateExitedEventDetails") or {}
    if '"summary"' not in (details.get("output") or ""):
        return None
    return json.loads(details["output"])


def decision(approved: bool, approver: str, comment: str) -> dict[str, Any]:
    return {
        "approved": approved,
        "approver": approver,
        "comment": comment,
        "answeredAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def answer(sfn: Any, sts: Any, execution_arn: str, approved: bool, comment: str = "") -> dict[str, Any]:
    """Approve or reject the step the execution waits on; NoPendingApproval if it waits on none."""
    pending = pending_approval(read_all(sfn, execution_arn))
    if pending is None:
        raise NoPendingApproval(f"{execution_arn} is not waiting for an approval")
    return send(sfn, pending, decision(approved, sts.get_caller_identity()["Arn"], comment))


def send(sfn: Any, pending: PendingApproval, answer: dict[str, Any]) -> dict[str, Any]:
    """Both answers are task successes; the state machine reads `approved` (a rejection rolls back)."""
    sfn.send_task_success(taskToken=pending.token, output=json.dumps(answer))
    return {"step": pending.describe(), **answer}
