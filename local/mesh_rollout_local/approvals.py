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
from mesh_rollout_local.progress import describe_weights, ecs_weights, rule_target_names

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

    def describe(self) -> str:
        if "ecs" in self.item and "plan" in self.item:  # EcsDeploymentStateMachine: {plan, ecs, check}
            plan = self.item["plan"]
            following = self.ecs_next_percent()
            step = f"the step to {following}%" if following is not None else "the end"
            return f"{step} of ECS deployment {plan.get('cluster', '?')}/{plan.get('service', '?')}"
        route = self.item.get("route", {}).get("label", "?")
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
        step = self.item.get("step", {})
        before, after = (describe_weights(step.get(key) or {}) or "?" for key in ("previous", "weights"))
        return f"{before} -> {after}"

    def verdict(self) -> str:
        """The health gate's verdict the step waits with (the gate runs before the approval is asked for)."""
        health = self.item.get("health") or self.item.get("check") or {}
        return str(health.get("summary") or self.last_verdict or "no health verdict yet")


def pending_approval(history: list[dict[str, Any]]) -> PendingApproval | None:
    """The approval request still waiting in an execution history (events in order), if any."""
    waiting: list[dict[str, Any]] = []
    verdict: str | None = None
    for event in history:
        details = event.get("taskScheduledEventDetails") or {}
        verdict = _exited_with_verdict(event) or verdict
        if event["type"] == "TaskScheduled" and details.get("resource") == WAIT_RESOURCE:
            waiting.append({**event, "verdict": verdict})
        elif event["type"] in ENDED and waiting:
            ended: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            if ended.get("resource") == WAIT_RESOURCE:
                waiting.pop(0)
    if not waiting:
        return None
    event = waiting[-1]
    payload = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]
    return PendingApproval(event["id"], payload.get("item", {}), payload["taskToken"], event["verdict"])


def gate_verdict(output: Any) -> str | None:
    """The summary of the newest health-gate verdict a weight shift's state data carries: the one after its step
    (`afterStep`), else the one before it (`health`); None if it carries neither."""
    for gate in ("afterStep", "health"):
        verdict = output.get(gate) if isinstance(output, dict) else None
        if isinstance(verdict, dict) and verdict.get("summary"):
            return str(verdict["summary"])
    return None


def _exited_with_verdict(event: dict[str, Any]) -> str | None:
    """gate_verdict of a state's output, if the event is a state's exit (outputs without a summary are not parsed)."""
    details = event.get("stateExitedEventDetails") or {}
    if '"summary"' not in (details.get("output") or ""):
        return None
    return gate_verdict(json.loads(details["output"]))


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
