"""DryRunEcsDeployment: everything an ECS deployment would hit, checked read-only and reported at once (issue 23).

The real run stops at its first problem (PlanEcsDeployment raises, the service's lock is held, the step check waits
in "no data"). The dry run calls the plan's own read-only pieces (deploying/plan.py: the service and its controller,
a running deployment, the strategy merged with the service's, the production side and rule, the gates, the revision,
the step list), turns each named error into a problem line and goes on with what can still be checked; the checks
both dry runs make (alarms, datapoints, the lock, the approval topic, the stack's roles) are mesh_rollout/dry_run/.
Nothing here writes: no lock, no UpdateService, no ContinueServiceDeployment (tests/offline/test_ecs_dry_run.py
counts the calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from mesh_rollout import dry_run as shared
from mesh_rollout.aws.ecs import lattice_configurations
from mesh_rollout.deploying.inputs import EcsDeploymentSpec, check_spec, parse_spec
from mesh_rollout.deploying.plan import (
    bake_seconds,
    check_approval_steps,
    check_cluster,
    check_presets,
    configuration,
    gated_deployment,
    gates,
    pause_timeout_minutes,
    plan_ecs_deployment,
    production_route,
    production_side,
    read_service,
    refuse_if_deploying,
    revision,
    settle_seconds,
    step_list,
    with_pause_hook,
)
from mesh_rollout.deploying.service_lock import lock_id_for
from mesh_rollout.dry_run import (
    MIN_WINDOW_SECONDS,
    OK,
    PROBLEM,
    WARNING,
    CallList,
    Clients,
    DryRunCheck,
    Findings,
    Stack,
    check_datapoints,
    check_roles,
    check_service,
    metrics_of,
    verdict,
)
from mesh_rollout.traffic import BACKEND_NAMES

# the principal ECS assumes for the load balancer or VPC Lattice (advancedConfiguration.roleArn, vpcLatticeConfigurations
# roleArn), passed to it with UpdateService
ECS_SERVICE_PRINCIPAL = "ecs.amazonaws.com"


class EcsDryRunStep(TypedDict):
    percent: int | float  # of production traffic on the new revision after ECS's step
    approval: bool  # asked before the step
    bakeSeconds: int  # ECS's own bake after it (the final bake at 100 %)


class EcsDryRunReport(TypedDict):
    """DryRunEcsDeployment's result (the state machine's output, or its Fail's cause: `text`)."""

    ready: bool
    problems: list[str]
    warnings: list[str]
    checks: list[DryRunCheck]
    steps: list[EcsDryRunStep]
    text: str


@dataclass
class World:
    """What the checks found so far, for the checks after them."""

    service: dict[str, Any] | None = None
    deployment: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    strategy: str | None = None
    side: dict[str, Any] | None = None
    route: dict[str, Any] | None = None
    task_definition: str | None = None
    images: dict[str, str] | None = None
    task_roles: list[str] = field(default_factory=list)  # of the revision RegisterRelease registers again
    tagged_family: str | None = None  # its family, when that revision has tags (the new one gets them too)
    steps: list[EcsDryRunStep] = field(default_factory=list)
    gate_services: dict[str, dict[str, Any]] = field(default_factory=dict)  # "cluster/service" -> the gate's service


def dry_run(raw: Any, clients: Clients, stack: Stack) -> EcsDryRunReport:
    """Check everything the ECS deployment `raw` would hit, read-only, and report all of it."""
    found, world = Findings(), World()
    spec: EcsDeploymentSpec | None = shared.read_input(raw, found, EcsDeploymentSpec, parse_spec, check_spec)
    if spec is not None:
        check_the_service(spec, world, found, clients, stack)
        service = world.service
        if service is not None:
            check_strategy(spec, service, world, found)
            check_traffic(spec, service, world, found)
            check_revision(spec, service, world, found, clients)
            check_steps(spec, world, found)
        check_gate_services(spec, world, found, clients)
        check_alarms(spec, world, found, clients)
        check_metrics(spec, world, found, clients)
        if service is not None:
            shared.check_lock(lock_id_for(service["serviceArn"]), spec.whenLocked, found, clients, stack)
        if spec.approval is not None:
            shared.check_subscription(spec.approval.beforeSteps, found, clients.sns, stack.topic_arn)
        if service is not None:
            calls = real_run_calls(spec, service, world, stack)
            check_roles(calls.calls, found, clients.iam, stack, calls.context)
        if not found.lines(PROBLEM):  # what the real plan would still refuse, if anything slipped through the above
            with found.catching("plan"):
                plan_ecs_deployment(raw, clients.ecs, clients.cloudwatch, stack.clusters)
    problems, warnings = found.lines(PROBLEM), found.lines(WARNING)
    report: EcsDryRunReport = {
        "ready": not problems,
        "problems": problems,
        "warnings": warnings,
        "checks": found.checks,
        "steps": world.steps,
        "text": "",
    }
    report["text"] = plan_text(spec, world, report)
    return report


# --- the service, its deployments, its strategy ---------------------------------------------------------------------


def check_the_service(spec: EcsDeploymentSpec, world: World, found: Findings, clients: Clients, stack: Stack) -> None:
    """The cluster is one the stack may act on; the service exists, its deploymentController is ECS, its tasks run;
    no other deployment of it runs (start mode), or the one to gate runs (gate mode)."""
    with found.catching("service"):
        check_cluster(spec, stack.clusters)
    with found.catching("service"):
        world.service = read_service(clients.ecs, spec)
    if world.service is None:
        return
    service = world.service
    label = f"{spec.cluster}/{spec.service}"
    found.add("service", OK, f"{label} runs {service['taskDefinition'].rsplit('/', 1)[-1]}, deploymentController ECS")
    running, desired = int(service.get("runningCount", 0)), int(service.get("desiredCount", 0))
    if running < desired:  # ECS deploys all the same; production finds fewer tasks meanwhile
        found.add("service", WARNING, f"{label} runs {running} of {desired} tasks now")
    with found.catching("service"):
        world.deployment = gated_deployment(clients.ecs, spec, service)
        if world.deployment is None:
            refuse_if_deploying(clients.ecs, spec)
            found.add("service", OK, "no other deployment of it is in progress")
        else:
            found.add("service", OK, f"gates {spec.serviceDeploymentArn} ({world.deployment.get('status')})")


def check_strategy(spec: EcsDeploymentSpec, service: dict[str, Any], world: World, found: Findings) -> None:
    said = "the input's" if spec.deploymentConfiguration and spec.deploymentConfiguration.strategy else "the service's"
    with found.catching("strategy"):
        world.config = configuration(spec, service, world.deployment)
        world.strategy = str(world.config.get("strategy") or "ROLLING")
        found.add("strategy", OK, f"{world.strategy} ({said if world.deployment is None else 'the running deployment'})")


def check_traffic(spec: EcsDeploymentSpec, service: dict[str, Any], world: World, found: Findings) -> None:
    """The load balancer, VPC Lattice or Service Connect configuration the strategy needs: the alternate target
    group and the production listener rule, which forwards to both, one of them carrying all production."""
    if world.strategy is None:  # what the configuration's problem leaves unknown decides which traffic there is
        found.add("traffic", WARNING, "not checked: the deployment's strategy is unknown (see strategy above)")
        return
    with found.catching("traffic"):
        world.side = production_side(spec, service, world.strategy)
    side = world.side
    if side is None:
        return
    with found.catching("healthGate"):
        check_presets(spec, side["backend"])
    if side["backend"] == "serviceConnect":
        found.add("traffic", OK, "Service Connect: ECS moves the traffic between the revisions' tasks")
        return
    with found.catching("traffic"):
        world.route = production_route(side, spec, world.deployment, None, None)
        names = (world.route or {}).get("stable") or side["blue"], (world.route or {}).get("canary") or side["green"]
        found.add(
            "traffic",
            OK,
            f"{BACKEND_NAMES[side['backend']]} production rule {side['productionListenerRule']} ({side['where']}):"
            f" {names[0]} carries production, {names[1]} (the other target group) gets the new revision",
        )


def check_revision(spec: EcsDeploymentSpec, service: dict[str, Any], world: World, found: Findings, clients: Clients) -> None:
    running = str(service["taskDefinition"]).rsplit("/", 1)[-1]
    with found.catching("revision"):
        world.task_definition, world.images = revision(clients.ecs, spec, service)
        if world.task_definition is not None:
            found.add(
                "revision", OK, f"taskDefinition {spec.taskDefinition} is {world.task_definition} (the service runs {running})"
            )
        elif world.images is not None:
            images = ", ".join(f"{n}={i}" for n, i in world.images.items())
            world.task_roles, world.tagged_family = shared.revision_to_register(clients.ecs, str(service["taskDefinition"]))
            found.add("revision", OK, f"RegisterRelease registers {running} again with {images} first")


def check_steps(spec: EcsDeploymentSpec, world: World, found: Findings) -> None:
    """ECS's steps (percent of production on the new revision), the approvals among them, its bakes, our PAUSE hook."""
    if world.config is None or world.strategy is None:
        return
    steps = step_list(world.strategy, world.config)
    bakes = bake_seconds(world.strategy, world.config)
    approvals = list(spec.approval.beforeSteps) if spec.approval else []
    with found.catching("steps"):
        check_approval_steps(spec, steps)
    if world.deployment is None:
        settle = settle_seconds(spec, (world.side or {}).get("backend", "alb"))
        with found.catching("steps"):
            with_pause_hook(world.config, pause_timeout_minutes(spec, bakes, settle))
    world.steps = [
        {"percent": p, "approval": p in approvals, "bakeSeconds": bakes["step"] if p != 100 else bakes["final"]} for p in steps
    ]
    percents = ", ".join(f"{p}%" for p in steps)
    found.add("steps", OK, f"{len(steps)} step{'s' if len(steps) != 1 else ''}: {percents}, each judged at ECS's pause")


# --- the gate: its services, alarms and metrics ---------------------------------------------------------------------


def check_gate_services(spec: EcsDeploymentSpec, world: World, found: Findings, clients: Clients) -> None:
    for index, ref in enumerate(spec.healthGate.ecsServices):
        label = f"{ref.cluster}/{ref.service}"
        described = check_service(clients.ecs, label, ref.cluster, ref.service, f"healthGate.ecsServices[{index}]", found)
        if described is not None:
            world.gate_services[label] = described


def check_alarms(spec: EcsDeploymentSpec, world: World, found: Findings, clients: Clients) -> None:
    """The gate's alarms, and the alarms of the deployment's configuration (ECS rolls back on them)."""
    named = [(f"healthGate.alarmNames[{i}]", name) for i, name in enumerate(spec.healthGate.alarmNames)]
    alarms = (world.config or {}).get("alarms") or {}
    if alarms.get("enable", True):
        named += [(f"deploymentConfiguration.alarms.alarmNames[{i}]", n) for i, n in enumerate(alarms.get("alarmNames", []))]
    shared.check_alarms(named, found, clients.cloudwatch)


def check_metrics(spec: EcsDeploymentSpec, world: World, found: Findings, clients: Clients) -> None:
    """Datapoints for every metric the step check and the judge read (the canary: the new revision's target group,
    the stable: the one carrying production), over ECS's step bake (at least 5 minutes)."""
    gate: dict[str, Any] = {"metrics": [m.model_dump(mode="json") for m in spec.healthGate.metrics], "compare": None}
    if world.side is not None and (world.route is not None or world.side["backend"] == "serviceConnect"):
        with found.catching("metrics"):
            gate, _ = gates(spec, world.side, world.route, clients.cloudwatch)
    bakes = bake_seconds(world.strategy, world.config) if world.strategy and world.config else {"step": 0}
    # start mode: the new revision takes production only at ECS's first step, after our first pause
    no_traffic = {"canary": "the new revision has no production traffic before ECS's first step"}
    check_datapoints(
        metrics_of(gate),
        max(bakes["step"], MIN_WINDOW_SECONDS),
        found,
        clients.cloudwatch,
        no_traffic if world.deployment is None else None,
    )


# --- the stack's roles ----------------------------------------------------------------------------------------------


def real_run_calls(spec: EcsDeploymentSpec, service: dict[str, Any], world: World, stack: Stack) -> CallList:
    """The calls the real run's functions make, with the service's own ARNs (as tests/offline/test_iam.py records
    them): the lock, RegisterRelease (imageDefinitions), UpdateService, each pause judged and answered, the approval,
    the finish; with the iam:PassRole, ecs:TagResource and kms requests AWS makes with them."""
    calls = CallList(stack)
    service_arn = str(service["serviceArn"])
    cluster, name = spec.cluster.rsplit("/", 1)[-1], spec.service.rsplit("/", 1)[-1]
    # a deployment's ARN is known once it starts; any of the service's matches the roles' service-deployment/<cluster>/*
    deployment = spec.serviceDeploymentArn or stack.arn("ecs", f"service-deployment/{cluster}/{name}/dry-run")
    calls.table("AcquireRouteLockFunction", "dynamodb:PutItem")
    if world.images is not None:
        calls.register_release(service_arn, world.task_roles, world.tagged_family)
    calls.table("StartEcsDeploymentFunction", "dynamodb:GetItem", "dynamodb:UpdateItem")
    calls.add("StartEcsDeploymentFunction", deployment, "ecs:DescribeServiceDeployments")
    if spec.mode == "start":
        calls.add("StartEcsDeploymentFunction", service_arn, "ecs:ListServiceDeployments", "ecs:UpdateService")
        entries = [*service.get("loadBalancers", []), *lattice_configurations(service)]
        for role in {
            str(r) for e in entries for r in (e.get("roleArn"), (e.get("advancedConfiguration") or {}).get("roleArn")) if r
        }:
            calls.pass_role("StartEcsDeploymentFunction", role, ECS_SERVICE_PRINCIPAL)
    # EcsStepCheck judges each pause: the gate's alarms, metrics and ECS services
    calls.health_gate(
        "EcsStepCheckFunction",
        spec.healthGate,
        lambda c, s: str(world.gate_services.get(f"{c}/{s}", {}).get("serviceArn") or "") or stack.arn("ecs", f"service/{c}/{s}"),
    )
    calls.table("EcsDecideFunction", "dynamodb:GetItem")
    calls.add(
        "EcsDecideFunction",
        deployment,
        "ecs:DescribeServiceDeployments",
        "ecs:ContinueServiceDeployment",
        "ecs:StopServiceDeployment",
    )
    if spec.approval is not None:
        calls.publish("RequestApprovalFunction")
    calls.table("FinishEcsDeploymentFunction", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
    calls.publish("FinishEcsDeploymentFunction")
    return calls


# --- the plan a person reads ----------------------------------------------------------------------------------------


def plan_text(spec: EcsDeploymentSpec | None, world: World, report: EcsDryRunReport) -> str:
    lines = [verdict("the ECS deployment", report["problems"], report["warnings"])]
    if spec is not None:
        running = str((world.service or {}).get("taskDefinition", "?")).rsplit("/", 1)[-1]
        lines.append(f"service: {spec.cluster}/{spec.service}" + (f" (runs {running})" if world.service else ""))
        if world.task_definition or world.images:
            new = (world.task_definition or "").rsplit("/", 1)[-1] or ", ".join(
                f"{n}={i}" for n, i in (world.images or {}).items()
            )
            lines.append(f"deploys: {new} with {world.strategy or '?'}")
        elif spec.serviceDeploymentArn:
            lines.append(f"gates: {spec.serviceDeploymentArn} ({world.strategy or '?'})")
        if world.side is not None:
            route = world.route or {}
            where = BACKEND_NAMES[world.side["backend"]]
            if route.get("stable"):
                where += f" {route['reference']['label']} ({route['stable']} -> {route['canary']})"
            lines.append(f"traffic: {where}")
    if world.steps:
        lines.append("steps (percent of production on the new revision), each judged at ECS's pause before it:")
        for step in world.steps:
            asks = " (approval first)" if step["approval"] else ""
            lines.append(f"  {step['percent']:>5}%: then ECS bakes {step['bakeSeconds']} s{asks}")
    return shared.report_text(lines, report["checks"])
