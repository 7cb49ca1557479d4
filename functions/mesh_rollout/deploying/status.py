"""EcsDeploymentStatus: where ECS's deployment stands, from ONE DescribeServiceDeployments, and whether a pause
of ours waits for an answer; EcsStepCheck: the health verdict for that pause."""

from __future__ import annotations

from typing import Any, cast

from mesh_rollout import clock
from mesh_rollout.aws.ecs_deployments import describe_deployment, list_deployments
from mesh_rollout.deploying.records import EcsDeploymentRecord, EcsPause, PauseHooks
from mesh_rollout.shifting.gate import NOTHING_CHECKED, GateVerdict, health_verdict
from mesh_rollout.traffic import route_for

# PAUSE hooks are allowed at these stages, not at PRODUCTION_TRAFFIC_SHIFT; PRE_PRODUCTION_TRAFFIC_SHIFT recurs
# before every LINEAR/CANARY step, POST_PRODUCTION_TRAFFIC_SHIFT comes once, at 100 %, before BAKE_TIME.
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html#lifecycle-stage-categories,
#  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html)
PRE, POST = "PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"
# botocore's ServiceDeploymentLifecycleStage (what Describe reports) has no PRE_PRODUCTION_TRAFFIC_SHIFT: a pause
# before a step may be reported at PRODUCTION_TRAFFIC_SHIFT, where no PAUSE hook can be, so it is ours too.
PAUSE_STAGES = {PRE: PRE, "PRODUCTION_TRAFFIC_SHIFT": PRE, POST: POST}
FINISHED = {
    "SUCCESSFUL": "SUCCESSFUL",
    "ROLLBACK_SUCCESSFUL": "ROLLED_BACK",
    "ROLLBACK_FAILED": "ROLLBACK_FAILED",
    "ROLLBACK_REQUESTED": "ROLLING_BACK",
    "ROLLBACK_IN_PROGRESS": "ROLLING_BACK",
    "STOP_REQUESTED": "ROLLING_BACK",  # stopping: read again until it is STOPPED
}
MIN_WINDOW_SECONDS = 60


class StepVerdict(GateVerdict):
    """EcsStepCheck's result: the gate's verdict on the waiting pause, at what percent, over how long a window."""

    percent: int | float
    windowSeconds: int


def percent_of(value: Any) -> int | float:
    number = float(value or 0)
    return int(number) if number.is_integer() else round(number, 1)


def our_pause(deployment: dict[str, Any]) -> PauseHooks | None:
    """{"hookIds", "stage", "percent"} of the PAUSE hooks AWAITING_ACTION at our stages, or None. Every such pause
    is answered by us: ECS's hook details do not say which hook of the service a pause belongs to."""
    stage = PAUSE_STAGES.get(str(deployment.get("lifecycleStage")))
    if stage is None or deployment.get("status") != "IN_PROGRESS":
        return None
    hooks = [
        h["hookId"]
        for h in deployment.get("lifecycleHookDetails", [])
        if h.get("targetType") == "PAUSE" and h.get("status") == "AWAITING_ACTION"
    ]
    if not hooks:
        return None
    weight = deployment.get("targetServiceRevision", {}).get("requestedProductionTrafficWeight")
    return {"hookIds": hooks, "stage": stage, "percent": percent_of(weight)}


def with_next_step(plan: dict[str, Any], pause: PauseHooks) -> EcsPause:
    """The pause plus what answering CONTINUE leads to: nextPercent (None after the last shift), nextWeights, and
    whether an approval is asked first (before a step named in approval.beforeSteps; never at the final pause,
    whose 100 % step was asked before)."""
    following = [step for step in plan["steps"] if step > pause["percent"]] if pause["stage"] == PRE else []
    nxt = following[0] if following else None
    return {
        **pause,
        "nextPercent": nxt,
        "nextWeights": requested_weights(plan, nxt) if nxt is not None else None,
        "approval": nxt is not None and nxt in plan.get("approvalSteps", []),
    }


def requested_weights(plan: dict[str, Any], percent: int | float) -> dict[str, Any]:
    """{green target group: p, blue: 100 - p}."""
    return {plan["canary"]: percent, plan["stable"]: percent_of(100 - percent)}


def weights_at(plan: dict[str, Any], percent: int | float, read_rule: bool) -> dict[str, Any]:
    """The production weights: read from the production rule (ALB, Lattice) when asked and the plan has one, keyed
    like ECS's requested weights ({green: p, blue: 100 - p}, which they are otherwise)."""
    reference = plan.get("productionRule")
    if not (read_rule and reference):
        return requested_weights(plan, percent)
    groups = [arn for arn in (plan["canary"], plan["stable"]) if arn]

    def group_of(name: str) -> str:
        used = str(reference.get("targets", {}).get(name, name))  # an ARN (ALB) or what the Lattice rule names
        return next((arn for arn in groups if used == arn or arn.endswith(f"/{used}")), name)

    return {group_of(name): weight for name, weight in route_for(reference).read().weights.items()}


def superseded_by(ecs: Any, plan: dict[str, Any], deployment: dict[str, Any]) -> str | None:
    """A deployment of the service created after this one (which ECS stopped for it), or None."""
    newer = list_deployments(ecs, plan["cluster"], plan["service"], after=deployment.get("createdAt"))
    arns = [b["serviceDeploymentArn"] for b in newer if b["serviceDeploymentArn"] != deployment["serviceDeploymentArn"]]
    return arns[0] if arns else None


def classify(deployment: dict[str, Any], polls: int, max_polls: int) -> tuple[str, PauseHooks | None]:
    """(state, pause) of the contract: PAUSED, RUNNING, SUCCESSFUL, ROLLING_BACK, ROLLED_BACK, ROLLBACK_FAILED,
    STOPPED (SUPERSEDED is told apart by the caller), TIMED_OUT."""
    status = str(deployment.get("status"))
    if status in FINISHED:
        # A rollback (or stop) that is still going after plan.maxPolls reads is TIMED_OUT too, or the ASL's
        # ReadDeployment/WaitForEcs loop would wait on it for ever; the reads count from the last answer we sent.
        if FINISHED[status] == "ROLLING_BACK" and polls > max_polls:
            return "TIMED_OUT", None
        return FINISHED[status], None
    if status == "STOPPED":
        return "STOPPED", None
    pause = our_pause(deployment)
    if pause is not None:
        return "PAUSED", pause
    return ("TIMED_OUT" if polls > max_polls else "RUNNING"), None


def read_deployment(ecs: Any, plan: dict[str, Any], ecs_state: dict[str, Any]) -> EcsDeploymentRecord:
    """The `ecs` record updated from one DescribeServiceDeployments (a stopped one: one more List, once)."""
    deployment = describe_deployment(ecs, ecs_state["serviceDeploymentArn"])
    polls = int(ecs_state.get("polls", 0)) + 1
    state, hooks = classify(deployment, polls, int(plan["maxPolls"]))
    pause = with_next_step(plan, hooks) if hooks is not None else None
    newer = superseded_by(ecs, plan, deployment) if state == "STOPPED" else None
    if newer:
        state = "SUPERSEDED"
    percent = percent_of(deployment.get("targetServiceRevision", {}).get("requestedProductionTrafficWeight"))
    read = {
        **ecs_state,
        "state": state,
        "stage": deployment.get("lifecycleStage"),
        "status": deployment.get("status"),
        "statusReason": deployment.get("statusReason", ""),
        "rollbackReason": deployment.get("rollback", {}).get("reason"),
        "supersededBy": newer,
        "pause": pause,
        "percent": percent,
        # the rule is read when the weights go into a verdict or the outcome, not on every poll
        "weights": weights_at(plan, percent, state not in ("RUNNING", "TIMED_OUT")),
        "polls": polls,
        "waitSeconds": int(plan["pollSeconds"]),
    }
    return cast(EcsDeploymentRecord, read)  # the record it was given (StartEcsDeployment's, EcsDecide's), updated


def window_seconds(plan: dict[str, Any], ecs_state: dict[str, Any], now: float | None = None) -> int:
    """How long ECS has held this step's weights (since the previous pause was answered, or the deployment
    started), less the time a weight change takes to take effect; at least the step's bake and MIN_WINDOW_SECONDS."""
    now = now if now is not None else clock.now().timestamp()
    held = now - float(ecs_state.get("continuedAt") or ecs_state["startedAt"])
    # ECS reaches the pause before the next step only after the step's bake (API_LinearConfiguration.html,
    # API_CanaryConfiguration.html; no bake after 100 %): the weights have been held at least that long, whatever a
    # clock that runs faster than ECS's (the offline emulator's) says.
    percent = (ecs_state.get("pause") or {}).get("percent", ecs_state.get("percent", 0)) or 0
    baked = int(plan["bakeSeconds"]["step"] if percent < 100 else plan["bakeSeconds"]["final"]) if percent > 0 else 0
    return max(MIN_WINDOW_SECONDS, baked, int(held - int(plan["settleSeconds"])))


def step_check(
    cloudwatch: Any, ecs: Any, plan: dict[str, Any], ecs_state: dict[str, Any], checks: int, now: float | None = None
) -> StepVerdict:
    """The health verdict for the waiting pause: before the first step (green at 0 %) the pre-step gate (alarms,
    ECS), else the health gate over the step's window. No ECS deployment read."""
    percent = (ecs_state.get("pause") or {}).get("percent", ecs_state.get("percent", 0))
    gate = plan["preStepGate"] if percent == 0 else plan["healthGate"]
    if percent >= 100:  # stable carries nothing at 100 %: no comparison, the thresholds and alarms judge alone
        gate = {**gate, "compare": None}
    window = window_seconds(plan, ecs_state, now)
    verdict = health_verdict(gate, cloudwatch, ecs, window, checks)
    if percent == 0 and verdict["reasons"] == [NOTHING_CHECKED]:  # say why, not "no health checks configured"
        reason = "no traffic on the new revision yet: nothing to judge before the first step (no alarms named)"
        verdict = {**verdict, "reasons": [reason], "summary": f"{verdict['state']}: {reason}"}
    return {**verdict, "percent": percent, "windowSeconds": window}
