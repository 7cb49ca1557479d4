"""PlanEcsDeployment: check the input and the service it names (read-only) and plan the gated ECS deployment.

ECS moves production traffic itself (deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY); we answer a
PAUSE lifecycle hook at PRE_PRODUCTION_TRAFFIC_SHIFT (before every step) and POST_PRODUCTION_TRAFFIC_SHIFT (once, at
100 %, before ECS retires the old revision) with ContinueServiceDeployment
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html#lifecycle-stage-categories).
The plan says which target group is green (ECS moves production to it) and which is blue (carries production
now: read from the production listener rule, since the two trade places from one deployment to the next), the
deploymentConfiguration UpdateService will send, and how long each wait may be.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from typing import Any, TypedDict

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, client, error_code
from mesh_rollout.aws.ecs import describe_service, describe_task_definition, lattice_configurations
from mesh_rollout.deploying.inputs import (
    GATED_STRATEGIES,
    MAX_HOOK_TIMEOUT_MINUTES,
    EcsDeploymentSpec,
    as_weight_shift,
    gate_rechecks_seconds,
    parse_spec,
)
from mesh_rollout.errors import EcsServiceNotFound, InvalidRolloutInput, UnknownReference
from mesh_rollout.shifting.plan import compare_gate, threshold_presets
from mesh_rollout.shifting.release import wanted_images
from mesh_rollout.traffic import alb as alb_backend
from mesh_rollout.traffic import lattice as lattice_backend

LOCK_MARGIN_SECONDS = 3600
HOOK_MARGIN_MINUTES = 10
# Reads of a deployment still RUNNING allowed past a planned wait: scale-up before the first pause (ECS waits
# about 3 minutes at POST_SCALE_UP for VPC Lattice, 10 for NLB), the user's own Lambda hooks, clean-up.
RUNNING_MARGIN_SECONDS = 3600
# Time ECS documents for a weight change to take effect: VPC Lattice about 90 s after each change
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-lattice-resources-for-blue-green.html), NLB
# 10 minutes (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/nlb-resources-for-blue-green.html);
# nothing documented for ALB and Service Connect.
SETTLE_SECONDS = {"lattice": 90, "nlb": 600, "alb": 0, "serviceConnect": 0}
# ECS's defaults for members the configuration leaves out (API_LinearConfiguration.html, API_CanaryConfiguration.html)
DEFAULT_STEP_PERCENT, DEFAULT_STEP_BAKE = 10.0, 6
DEFAULT_CANARY_PERCENT, DEFAULT_CANARY_BAKE = 5.0, 10
OUR_STAGES = ("PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
MAX_PAUSE_HOOKS = 10  # per service (DG pause-lifecycle-hooks.html, "Constraints")
# ServiceDeployment statuses still going on (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html)
ONGOING = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
LATTICE_RULE = re.compile(r"service/(?P<service>svc-[^/]+)/listener/(?P<listener>listener-[^/]+)(?:/rule/(?P<rule>rule-[^/]+))?$")
PRESET_FIELDS = ("maxErrorRate", "maxLatencyMs")


class EcsDeploymentPlan(TypedDict):
    """PlanEcsDeployment's result (`$.plan` of the EcsDeploymentStateMachine): the service, its lock, what to deploy
    (start mode) or the deployment to gate (gate mode), ECS's steps and bakes, the gates, the polling bounds."""

    cluster: str
    service: str
    serviceArn: str
    lockId: str
    lockSeconds: int
    mode: str  # start or gate
    serviceDeploymentArn: str | None
    taskDefinition: str | None
    images: dict[str, str] | None
    deploymentConfiguration: dict[str, Any]
    strategy: str
    steps: list[int | float]
    backend: str
    productionRule: dict[str, Any] | None
    canary: str | None
    stable: str | None
    healthGate: dict[str, Any]
    preStepGate: dict[str, Any]
    approvalSteps: list[int]
    approvalTimeoutSeconds: int
    settleSeconds: int
    pollSeconds: int
    maxPolls: int
    hookTimeoutMinutes: int
    bakeSeconds: dict[str, int]


def plan_ecs_deployment(
    raw: Any, ecs: Any, cloudwatch: Any, clusters: str = "*", *, elbv2: Any = None, lattice: Any = None
) -> EcsDeploymentPlan:
    """Check the whole input (shape, then the service, its deployments, its production listener rule, read-only) and
    plan the deployment. `clusters` is the stack's ClusterName pattern: where the functions may act. `elbv2` and
    `lattice` default to the shared clients."""
    spec = parse_spec(raw)
    check_cluster(spec, clusters)
    service = read_service(ecs, spec)
    deployment = gated_deployment(ecs, spec, service)
    if deployment is None:
        refuse_if_deploying(ecs, spec)
    config = configuration(spec, service, deployment)
    strategy = str(config.get("strategy") or "ROLLING")
    side = production_side(spec, service, strategy)
    backend = side["backend"]
    check_presets(spec, backend)
    route = production_route(side, spec, deployment, elbv2, lattice)
    steps = step_list(strategy, config)
    approvals = list(spec.approval.beforeSteps) if spec.approval else []
    check_approval_steps(spec, steps)
    settle = settle_seconds(spec, backend)
    bakes = bake_seconds(strategy, config)
    if deployment is None:
        hook_minutes = pause_timeout_minutes(spec, bakes, settle)
        config = with_pause_hook(config, hook_minutes)
    else:
        hook_minutes = paused_minutes(config)
    max_polls = -(-(RUNNING_MARGIN_SECONDS + max(bakes.values()) + settle) // spec.pollSeconds)
    gate, pre_step_gate = gates(spec, side, route, cloudwatch)
    task_definition, images = revision(ecs, spec, service)
    return {
        "cluster": spec.cluster,
        "service": spec.service,
        "serviceArn": service["serviceArn"],
        "lockId": f"ecs:{service['serviceArn']}",
        "lockSeconds": lock_seconds(spec, steps, bakes, settle, max_polls),
        "mode": spec.mode,
        "serviceDeploymentArn": spec.serviceDeploymentArn,
        "taskDefinition": task_definition,
        "images": images,
        "deploymentConfiguration": config,
        "strategy": strategy,
        "steps": steps,
        "backend": backend,
        "productionRule": route["reference"] if route else None,
        "canary": side.get("green"),
        "stable": side.get("blue"),
        "healthGate": gate,
        "preStepGate": pre_step_gate,
        "approvalSteps": approvals,
        "approvalTimeoutSeconds": spec.approval.timeoutSeconds if spec.approval else 0,
        "settleSeconds": settle,
        "pollSeconds": spec.pollSeconds,
        "maxPolls": max_polls,
        "hookTimeoutMinutes": hook_minutes,
        "bakeSeconds": bakes,
    }


# --- the service and its deployments ----------------------------------------------------------------


def check_cluster(spec: EcsDeploymentSpec, clusters: str) -> None:
    """The cluster is one the stack may act on (`clusters`: its ClusterName pattern)."""
    if not fnmatch.fnmatchcase(spec.cluster.rsplit("/", 1)[-1], clusters):
        raise InvalidRolloutInput("cluster", f"{spec.cluster!r} is not among the clusters this stack may act on ({clusters!r})")


def check_approval_steps(spec: EcsDeploymentSpec, steps: list[int | float]) -> None:
    """An approval is asked before one of ECS's steps: every approval.beforeSteps is one of them."""
    approvals = list(spec.approval.beforeSteps) if spec.approval else []
    problems = [
        (f"approval.beforeSteps[{index}]", f"{percent} is not a step of the deployment {steps}")
        for index, percent in enumerate(approvals)
        if percent not in steps
    ]
    if problems:
        raise InvalidRolloutInput.of(problems)


def read_service(ecs: Any, spec: EcsDeploymentSpec) -> dict[str, Any]:
    """The service the input names (DescribeServices), refused unless its deployment controller is ECS."""
    try:
        found = describe_service(ecs, spec.cluster, spec.service, "")
    except EcsServiceNotFound as exc:
        raise EcsServiceNotFound(exc.field.lstrip("."), exc.problems[0][1]) from None
    controller = (found.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        # BLUE_GREEN, LINEAR and CANARY need the ECS deployment controller (API_LinearConfiguration.html)
        raise InvalidRolloutInput(
            "service", f"{spec.service!r} uses the {controller} deployment controller; ECS's own strategies need ECS"
        )
    return found


def gated_deployment(ecs: Any, spec: EcsDeploymentSpec, service: dict[str, Any]) -> dict[str, Any] | None:
    """Gate mode: the running deployment the input names (DescribeServiceDeployments); start mode: None."""
    if spec.serviceDeploymentArn is None:
        return None
    with aws_errors(f"DescribeServiceDeployments {spec.serviceDeploymentArn}"):
        response = ecs.describe_service_deployments(serviceDeploymentArns=[spec.serviceDeploymentArn])
    found = response.get("serviceDeployments", [])
    if not found:
        reasons = "; ".join(str(f.get("reason")) for f in response.get("failures", [])) or "not found"
        raise UnknownReference("serviceDeploymentArn", f"ECS has no such service deployment ({reasons})")
    deployment: dict[str, Any] = found[0]
    if deployment.get("serviceArn") not in (None, service["serviceArn"]):
        raise InvalidRolloutInput(
            "serviceDeploymentArn", f"is a deployment of {deployment['serviceArn']}, not of {service['serviceArn']}"
        )
    if deployment.get("status") not in ("PENDING", "IN_PROGRESS"):
        raise InvalidRolloutInput(
            "serviceDeploymentArn", f"the deployment is {deployment.get('status')}: there is nothing left to gate"
        )
    return deployment


def refuse_if_deploying(ecs: Any, spec: EcsDeploymentSpec) -> None:
    """Start mode: refuse a service that already has a deployment in progress (ListServiceDeployments)."""
    with aws_errors(f"ListServiceDeployments {spec.cluster}/{spec.service}"):
        response = ecs.list_service_deployments(cluster=spec.cluster, service=spec.service, status=ONGOING)
    running = response.get("serviceDeployments", [])
    if running:
        raise InvalidRolloutInput(
            "service",
            f"{spec.service!r} is already deploying ({running[0]['serviceDeploymentArn']} is {running[0].get('status')});"
            " wait for it to end, or gate it with serviceDeploymentArn",
        )


# --- the deployment configuration ----------------------------------------------------------------------


def configuration(spec: EcsDeploymentSpec, service: dict[str, Any], deployment: dict[str, Any] | None) -> dict[str, Any]:
    """Gate mode: the running deployment's own; start mode: the service's, with the members the input gives."""
    if deployment is not None:
        return _running_configuration(service, deployment)
    config = merged(spec, service)
    strategy = config.get("strategy") or "ROLLING"
    if strategy not in GATED_STRATEGIES:
        raise InvalidRolloutInput(
            "deploymentConfiguration.strategy",
            f"service {spec.service!r} deploys with {strategy}, which shifts no traffic to gate:"
            " give BLUE_GREEN, LINEAR or CANARY",
        )
    given = spec.deploymentConfiguration
    for key, wanted in (("linearConfiguration", "LINEAR"), ("canaryConfiguration", "CANARY")):
        if given is not None and getattr(given, key) is not None and strategy != wanted:
            raise InvalidRolloutInput(
                f"deploymentConfiguration.{key}", f"applies to {wanted}; the deployment's strategy is {strategy}"
            )
    if strategy == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
        # "You must provide this parameter when you use the BLUE_GREEN deployment strategy" (API_DeploymentConfiguration.html)
        raise InvalidRolloutInput(
            "deploymentConfiguration.bakeTimeInMinutes", "is required for BLUE_GREEN (the service has none)"
        )
    return config


def _running_configuration(service: dict[str, Any], deployment: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(deployment.get("deploymentConfiguration") or service.get("deploymentConfiguration") or {})
    strategy = config.get("strategy") or "ROLLING"
    if strategy not in GATED_STRATEGIES:
        raise InvalidRolloutInput("serviceDeploymentArn", f"the deployment runs {strategy}: it shifts no traffic to gate")
    if not _pause_stages(config.get("lifecycleHooks", [])) >= set(OUR_STAGES):
        raise InvalidRolloutInput(
            "serviceDeploymentArn",
            f"the deployment has no PAUSE hook at {' and '.join(OUR_STAGES)}: it would not wait for the gate",
        )
    return config


def merged(spec: EcsDeploymentSpec, service: dict[str, Any]) -> dict[str, Any]:
    """The service's deploymentConfiguration (a copy) with the strategy members the input gives; inside
    linearConfiguration / canaryConfiguration, the members the input leaves out stay the service's."""
    config = copy.deepcopy(service.get("deploymentConfiguration") or {})
    given = spec.deploymentConfiguration
    if given is None:
        return config
    if given.strategy is not None:
        config["strategy"] = given.strategy
    for key in ("linearConfiguration", "canaryConfiguration"):
        member = getattr(given, key)
        if member is not None:
            config[key] = {**config.get(key, {}), **member.model_dump(exclude_none=True)}
    if given.bakeTimeInMinutes is not None:
        config["bakeTimeInMinutes"] = given.bakeTimeInMinutes
    return config


def _pause_stages(hooks: list[dict[str, Any]]) -> set[str]:
    return {stage for hook in hooks if hook.get("targetType") == "PAUSE" for stage in hook.get("lifecycleStages", [])}


def pause_hook(timeout_minutes: int) -> dict[str, Any]:
    """Our hook: ECS waits at both stages until ContinueServiceDeployment, and rolls back if nobody answers."""
    return {
        "targetType": "PAUSE",
        "lifecycleStages": list(OUR_STAGES),
        "timeoutConfiguration": {"timeoutInMinutes": timeout_minutes, "action": "ROLLBACK"},
    }


def with_pause_hook(config: dict[str, Any], timeout_minutes: int) -> dict[str, Any]:
    """The configuration with our PAUSE hook appended, unless PAUSE hooks already cover both stages (ours from an
    earlier deployment, or the user's: all are answered at our stages). Every other hook is kept as it is."""
    hooks = list(config.get("lifecycleHooks", []))
    if _pause_stages(hooks) >= set(OUR_STAGES):
        return config
    if sum(1 for h in hooks if h.get("targetType") == "PAUSE") >= MAX_PAUSE_HOOKS:
        raise InvalidRolloutInput(
            "service", f"already has {MAX_PAUSE_HOOKS} PAUSE hooks, the most ECS allows: ours cannot be added"
        )
    return {**config, "lifecycleHooks": [*hooks, pause_hook(timeout_minutes)]}


def step_list(strategy: str, config: dict[str, Any]) -> list[int | float]:
    """Percent of production on the new revision after each step ECS takes (LINEAR: +stepPercent, last 100)."""
    if strategy == "LINEAR":
        size = float((config.get("linearConfiguration") or {}).get("stepPercent", DEFAULT_STEP_PERCENT))
        tenths = round(size * 10)
        return [_percent(k * tenths / 10) for k in range(1, -(-1000 // tenths))] + [100]
    if strategy == "CANARY":
        canary = float((config.get("canaryConfiguration") or {}).get("canaryPercent", DEFAULT_CANARY_PERCENT))
        return [100] if canary >= 100 else [_percent(canary), 100]
    return [100]


def _percent(value: float) -> int | float:
    value = round(value, 1)
    return int(value) if value.is_integer() else value


def bake_seconds(strategy: str, config: dict[str, Any]) -> dict[str, int]:
    """ECS's own bakes: `step` after each step below 100 % (none after 100 %: API_LinearConfiguration.html), `final`
    after the last, both revisions running (bakeTimeInMinutes)."""
    step = 0
    if strategy == "LINEAR":
        step = int((config.get("linearConfiguration") or {}).get("stepBakeTimeInMinutes", DEFAULT_STEP_BAKE))
    elif strategy == "CANARY":
        step = int((config.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes", DEFAULT_CANARY_BAKE))
    return {"step": step * 60, "final": int(config.get("bakeTimeInMinutes") or 0) * 60}


def paused_minutes(config: dict[str, Any]) -> int:
    """Gate mode: the shortest timeout of the deployment's PAUSE hooks at our stages (1440 when not configured:
    DG pause-lifecycle-hooks.html)."""
    return min(
        int((hook.get("timeoutConfiguration") or {}).get("timeoutInMinutes", 1440))
        for hook in config.get("lifecycleHooks", [])
        if hook.get("targetType") == "PAUSE" and set(hook.get("lifecycleStages", [])) & set(OUR_STAGES)
    )


def settle_seconds(spec: EcsDeploymentSpec, backend: str) -> int:
    """How long a step's traffic takes to arrive before the gate reads it: the input's settleSeconds, else the
    backend's (SETTLE_SECONDS)."""
    return SETTLE_SECONDS[backend] if spec.settleSeconds is None else spec.settleSeconds


def pause_timeout_minutes(spec: EcsDeploymentSpec, bakes: dict[str, int], settle: int) -> int:
    """Our PAUSE hook's timeout: the input's hookTimeoutMinutes, else the longest a pause waits for us (the pause at
    100 % also while ECS's final bake and the settle run)."""
    return spec.hookTimeoutMinutes or hook_timeout_minutes(spec, bakes["final"] + settle)


def hook_timeout_minutes(spec: EcsDeploymentSpec, held_seconds: int = 0) -> int:
    """The longest one pause may wait for us: the gate's re-checks and the approval, plus a margin, plus
    `held_seconds` (the pause at 100 % waits while 100 % is held for the final bake before it is judged)."""
    waiting = held_seconds + gate_rechecks_seconds(spec) + (spec.approval.timeoutSeconds if spec.approval else 0)
    return min(-(-waiting // 60) + HOOK_MARGIN_MINUTES, MAX_HOOK_TIMEOUT_MINUTES)


def lock_seconds(spec: EcsDeploymentSpec, steps: list[int | float], bakes: dict[str, int], settle: int, max_polls: int) -> int:
    """How long the service lock lives: the longest this execution can take, plus a margin."""
    gate = gate_rechecks_seconds(spec)
    approvals = len(spec.approval.beforeSteps) * spec.approval.timeoutSeconds if spec.approval else 0
    held = sum(settle + (bakes["step"] if percent != 100 else 0) + gate for percent in steps)
    return gate + held + approvals + bakes["final"] + max_polls * spec.pollSeconds + LOCK_MARGIN_SECONDS


# --- where production traffic goes ---------------------------------------------------------------------


def production_side(spec: EcsDeploymentSpec, service: dict[str, Any], strategy: str) -> dict[str, Any]:
    """The backend, and the target groups and production listener rule ECS shifts between
    (API_AdvancedConfiguration.html, API_VpcLatticeAdvancedConfiguration.html)."""
    field = (
        "deploymentConfiguration.strategy"
        if spec.deploymentConfiguration and spec.deploymentConfiguration.strategy
        else "service"
    )
    needs = f"strategy {strategy} needs"
    candidates = [("loadBalancers", i, lb) for i, lb in enumerate(service.get("loadBalancers", []))]
    candidates += [("vpcLatticeConfigurations", i, c) for i, c in enumerate(lattice_configurations(service))]
    for where, index, entry in candidates:
        advanced = entry.get("advancedConfiguration") or {}
        missing = [k for k in ("alternateTargetGroupArn", "productionListenerRule") if not advanced.get(k)]
        if missing:
            continue
        rule = advanced["productionListenerRule"]
        backend = "lattice" if where == "vpcLatticeConfigurations" else ("nlb" if "/net/" in rule else "alb")
        return {
            "backend": backend,
            "where": f"{where}[{index}]",
            "targetGroupArn": entry["targetGroupArn"],
            "alternateTargetGroupArn": advanced["alternateTargetGroupArn"],
            "productionListenerRule": rule,
        }
    if candidates:
        where, index, entry = candidates[0]
        advanced = entry.get("advancedConfiguration") or {}
        missing = [k for k in ("alternateTargetGroupArn", "productionListenerRule") if not advanced.get(k)]
        raise InvalidRolloutInput(
            field,
            f"{needs} {where}[{index}].advancedConfiguration.{' and '.join(missing)} on service {spec.service!r}"
            " (the target group ECS moves production traffic to, and the rule it rewrites)",
        )
    primary: dict[str, Any] = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    if (primary.get("serviceConnectConfiguration") or {}).get("enabled"):
        return {"backend": "serviceConnect"}
    raise InvalidRolloutInput(
        field, f"{needs} a load balancer, VPC Lattice or Service Connect; service {spec.service!r} has none to shift traffic on"
    )


def production_route(
    side: dict[str, Any], spec: EcsDeploymentSpec, deployment: dict[str, Any] | None, elbv2: Any, lattice: Any
) -> dict[str, Any] | None:
    """The production rule as the traffic backends resolve it (alb, lattice), or as read (nlb); sets side's blue
    (carries production now) and green (the other target group). Service Connect: None."""
    backend = side["backend"]
    if backend == "serviceConnect":
        return None
    primary, alternate, rule = side["targetGroupArn"], side["alternateTargetGroupArn"], side["productionListenerRule"]
    what = f"production listener rule {rule} ({side['where']}.advancedConfiguration.productionListenerRule)"
    resolved: dict[str, Any] | None = None
    try:
        if backend == "alb":
            elbv2 = elbv2 or client("elbv2")
            fields = _alb_fields(rule)
            resolved = alb_backend.resolve(fields, primary, alternate, elbv2)
            read = alb_backend.AlbRoute(resolved["reference"], elbv2).read().weights
            weights = {resolved["arns"].get(name, name): weight for name, weight in read.items()}
        elif backend == "lattice":
            lattice = lattice or client("vpc-lattice")
            resolved = lattice_backend.resolve(_lattice_fields(rule, what), primary, alternate, lattice)
            read = lattice_backend.LatticeRoute(resolved["reference"], lattice).read().weights
            weights = {resolved["arns"].get(name, name): weight for name, weight in read.items()}
        else:
            weights = _nlb_weights(elbv2 or client("elbv2"), rule)
    except InvalidRolloutInput as exc:
        raise type(exc)("service", f"{what}: {exc}") from None
    target = None
    if deployment is not None:
        target = (deployment.get("targetServiceRevision") or {}).get("requestedProductionTrafficWeight")
    side["blue"], side["green"] = _blue_and_green(weights, primary, alternate, target, what)
    if resolved is None:
        return {"reference": None, "arns": {}}
    names = {arn: name for name, arn in resolved["arns"].items()}
    return {**resolved, "stable": names[side["blue"]], "canary": names[side["green"]]}


def _alb_fields(rule: str) -> dict[str, Any]:
    """An ALB production listener rule ARN (or a listener's: its default actions) as traffic.alb's fields."""
    if ":listener-rule/" in rule:
        return {"listenerArn": rule.replace(":listener-rule/", ":listener/").rsplit("/", 1)[0], "ruleArn": rule}
    return {"listenerArn": rule, "ruleArn": None}


def _lattice_fields(rule: str, what: str) -> dict[str, Any]:
    """A VPC Lattice rule (or listener) ARN, arn:...:service/svc-x/listener/listener-y[/rule/rule-z], as IDs."""
    match = LATTICE_RULE.search(rule)
    if match is None:
        raise InvalidRolloutInput("service", f"{what} is not a VPC Lattice listener or rule ARN")
    return {"serviceIdentifier": match["service"], "listenerIdentifier": match["listener"], "ruleIdentifier": match["rule"]}


def _nlb_weights(elbv2: Any, rule: str) -> dict[str, int]:
    """{target group ARN: weight} of an NLB production listener's default forward action (an NLB has no rules)."""
    with aws_errors(f"DescribeListeners {rule}"):
        if ":listener-rule/" in rule:
            actions = elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
        else:
            actions = elbv2.describe_listeners(ListenerArns=[rule])["Listeners"][0]["DefaultActions"]
    return {t["TargetGroupArn"]: t["Weight"] for t in alb_backend.forwarded(alb_backend.forward_action(actions, "service"))}


def _blue_and_green(weights: dict[str, int], primary: str, alternate: str, target: float | None, what: str) -> tuple[str, str]:
    """(blue, green). Start mode: blue carries all production traffic. Gate mode: green is the group whose share
    is the deployment's requested production weight for its target revision (ServiceRevisionSummary)."""
    for group in (primary, alternate):
        if group not in weights:
            raise InvalidRolloutInput("service", f"{what} does not forward to target group {group}: ECS shifts between both")
    total = sum(weights.values())
    share = {g: (100 * weights[g] / total if total else 0.0) for g in (primary, alternate)}
    if target is not None and share[primary] != share[alternate]:
        green = min((primary, alternate), key=lambda g: abs(share[g] - float(target)))
        return (alternate if green == primary else primary), green
    if target is not None:
        raise InvalidRolloutInput(
            "serviceDeploymentArn", f"{what} splits traffic evenly: which group is the new revision's cannot be told"
        )
    if share[primary] == 100:
        return primary, alternate
    if share[alternate] == 100:
        return alternate, primary
    raise InvalidRolloutInput(
        "service",
        f"{what} sends {share[primary]:g} % to {primary} and {share[alternate]:g} % to {alternate}: ECS starts a"
        " deployment from one target group carrying all production traffic",
    )


# --- the health gate ---------------------------------------------------------------------------------


def check_presets(spec: EcsDeploymentSpec, backend: str) -> None:
    """Presets need a backend that publishes per-target-group request metrics (ALB, VPC Lattice)."""
    if backend in ("alb", "lattice"):
        return
    why = {
        "nlb": "an NLB publishes no HTTP errors or latency per target group",
        "serviceConnect": "Service Connect has no canary and stable target groups",
    }[backend]
    gate = spec.healthGate
    for field in PRESET_FIELDS:
        if getattr(gate, field) is not None:
            raise InvalidRolloutInput(f"healthGate.{field}", f"{why}: use healthGate.metrics or alarmNames")
    if gate.compare is None:
        return
    for index, metric in enumerate(gate.compare.metrics):
        if metric.preset is not None:
            raise InvalidRolloutInput(f"healthGate.compare.metrics[{index}].preset", f"{why}: give a metricStat template")
    if backend == "serviceConnect":
        raise InvalidRolloutInput("healthGate.compare", f"{why} to compare: use healthGate.metrics or alarmNames")


def gates(
    spec: EcsDeploymentSpec, side: dict[str, Any], route: dict[str, Any] | None, cloudwatch: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The gate at a pause after a step (presets as metrics of green's target group, compare green with blue), and
    the one at the pause before the first step (green has no production traffic yet: alarms and metrics only)."""
    gate = spec.healthGate.model_dump(mode="json", exclude={"maxErrorRate", "maxLatencyMs", "latencyStatistic", "compare"})
    backend = side["backend"]
    if backend in ("alb", "lattice") and route is not None:
        view = as_weight_shift(spec, backend)
        gate["metrics"] = [*gate["metrics"], *threshold_presets(view, route, cloudwatch)]
        gate["compare"] = compare_gate(view, route, cloudwatch)
    else:
        gate["compare"] = _compare_templates(spec, side)
    return gate, {**gate, "metrics": [], "compare": None}


def _compare_templates(spec: EcsDeploymentSpec, side: dict[str, Any]) -> dict[str, Any] | None:
    """NLB: the judge's templates with "${target}" as each side's TargetGroup dimension (targetgroup/name/id)."""
    compare = spec.healthGate.compare
    if compare is None or "green" not in side:
        return None
    metrics = []
    for metric in compare.metrics:
        entry: dict[str, Any] = {"id": metric.id, "direction": metric.direction, "weight": metric.weight}
        for which, arn in (("canary", side["green"]), ("stable", side["blue"])):
            value = arn.split(":", 5)[-1]
            entry[which] = {
                k: json.loads(json.dumps(v).replace("${target}", value))
                for k, v in (("metricStat", metric.metricStat), ("divideBy", metric.divideBy))
                if v
            }
        metrics.append(entry)
    return {**compare.model_dump(mode="json", exclude={"metrics"}), "metrics": metrics}


# --- the new revision ------------------------------------------------------------------------------


def revision(ecs: Any, spec: EcsDeploymentSpec, service: dict[str, Any]) -> tuple[str | None, dict[str, str] | None]:
    """(taskDefinition ARN, None) for a given revision, (None, images) when RegisterRelease registers it first,
    (None, None) in gate mode."""
    running = str(service["taskDefinition"])
    if spec.taskDefinition is not None:
        try:
            found = ecs.describe_task_definition(taskDefinition=spec.taskDefinition)["taskDefinition"]
        except ClientError as exc:
            if error_code(exc) == "ClientException":  # ECS's answer for a revision that does not exist
                raise UnknownReference("taskDefinition", f"task definition {spec.taskDefinition!r} does not exist") from exc
            raise classify(exc, f"DescribeTaskDefinition {spec.taskDefinition}") from exc
        arn = str(found["taskDefinitionArn"])
        if arn == running:
            raise InvalidRolloutInput(
                "taskDefinition", f"service {spec.service!r} already runs {arn}: there is nothing to deploy"
            )
        return arn, None
    if spec.imageDefinitions is not None:
        current, _ = describe_task_definition(ecs, running)
        images = wanted_images(current, [d.model_dump() for d in spec.imageDefinitions], None, None)
        if all(c.get("image") == images[c["name"]] for c in current["containerDefinitions"] if c["name"] in images):
            raise InvalidRolloutInput(
                "imageDefinitions", f"service {spec.service!r} already runs these images: there is nothing to deploy"
            )
        return None, images
    return None, None
