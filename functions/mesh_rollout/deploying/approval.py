"""The approval request of an ECS deployment's step (RequestApprovalFunction, given the execution's state)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesh_rollout.shifting.weight_shift import answer_lines
from mesh_rollout.shifting.weights import describe_weights


def next_percent(plan: dict[str, Any], percent: int | float) -> int | float | None:
    """The percent of production traffic on the new revision after ECS's next step, or None after the last."""
    following = [step for step in plan["steps"] if step > percent]
    return following[0] if following else None


def approval_message(execution_arn: str, plan: dict[str, Any], ecs: dict[str, Any], health: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body: the service, where ECS holds it now (percent, stage, weights), the next step and the
    verdict on this one. No task token: approvers answer with the CLI."""
    pause = ecs.get("pause") or {}
    percent = pause.get("percent", ecs.get("percent", 0))
    nxt = next_percent(plan, percent)
    service = f"{plan['cluster']}/{plan['service']}"
    step = f"its step to {nxt} %" if nxt is not None else "its last stage"
    subject = f"mesh-rollout: approve ECS {service} to {nxt} %?" if nxt is not None else f"mesh-rollout: approve ECS {service}?"
    weights = describe_weights(ecs["weights"]) if ecs.get("weights") else "unknown"
    body = "\n".join(
        [
            f"An ECS {plan.get('strategy', '')} deployment of {service} waits for approval before {step}.".replace("  ", " "),
            "",
            f"  now:     {percent} % of production traffic on the new revision ({weights})",
            f"  stage:   {pause.get('stage', ecs.get('stage'))} (ECS)",
            f"  next:    {nxt} % on the new revision" if nxt is not None else "  next:    ECS retires the old revision",
            f"  health:  {health['summary']}",
            f"  deployment: {ecs.get('serviceDeploymentArn')}",
            f"  execution: {execution_arn}",
            *answer_lines(
                execution_arn, int(plan["approvalTimeoutSeconds"]), "makes ECS roll the deployment back to the old revision"
            ),
        ]
    )
    return subject[:100], body
