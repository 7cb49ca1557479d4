"""DryRunWeightShift: everything a weight shift would hit, checked read-only and reported at once (issue 23).

The real run stops at its first problem (PlanWeightShift raises, the lock is held, the gate waits in "no data" for
an hour). The dry run calls the same pieces (the input's parse, the backend's resolve and read, the plan's ECS
service search, gates and steps, the lock's holder), turns each named error into a problem line and goes on with
what can still be checked. Nothing here writes: no lock, no snapshot, no weight (tests/offline/test_dry_run.py
counts the calls).

Each check is {"check", "status": ok | problem | warning, "detail"}; the report is ready when no check is a
problem. Its `text` is the plan a person reads: the route, its weights now, each step's weights on the backend's own
scale, and every check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from mesh_rollout import dry_run as shared
from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import AmbiguousService, describe_service, service_of_target_group
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
from mesh_rollout.errors import AwsRequestRejected, InvalidRolloutInput, MeshResourceNotFound
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.inputs import ROUTE_FIELDS, WeightShiftSpec, check_route_fields, check_spec, parse_spec, step_list
from mesh_rollout.shifting.plan import (
    TARGET_KIND,
    gates,
    plan_release,
    plan_weight_shift,
    read_route,
    route_lock_id,
    take_turns,
    with_ecs_services,
)
from mesh_rollout.shifting.weights import canary_percent, check_route_weights, describe_weights, is_retired, plan_steps
from mesh_rollout.traffic import BACKEND_NAMES, Weights, backend_module, route_for

__all__ = ["Clients", "Findings", "Stack", "World", "check_permissions", "dry_run", "read_input", "real_run_calls"]


class DryRunStep(TypedDict):
    percent: int
    weights: Weights  # on the backend's own scale (App Mesh 0-100; VPC Lattice and ALB 0-999)


class DryRunReport(TypedDict):
    """DryRunWeightShift's result (the state machine's output, or its Fail's cause: `text`)."""

    ready: bool
    problems: list[str]
    warnings: list[str]
    checks: list[DryRunCheck]
    steps: list[DryRunStep]
    text: str


@dataclass
class World:
    """What the checks found so far, for the checks after them."""

    spec: WeightShiftSpec | None = None
    resolved: dict[str, Any] | None = None
    route: Any = None
    current: Weights | None = None
    lock_id: str | None = None
    failed_side: str | None = None  # "stable" or "canary" when the route does not forward to it (read without it)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # "cluster/service" -> the service
    steps: list[dict[str, Any]] = field(default_factory=list)
    finalize_ends: bool = False
    release: dict[str, Any] = field(default_factory=lambda: {"pending": False})
    task_roles: list[str] = field(default_factory=list)  # of the revision RegisterRelease registers again
    tagged_family: str | None = None  # its family, when that revision has tags (the new one gets them too)


def dry_run(raw: Any, clients: Clients, stack: Stack) -> DryRunReport:
    """Check everything the weight shift `raw` would hit, read-only, and report all of it."""
    found, world = Findings(), World()
    world.spec = read_input(raw, found)
    spec = world.spec
    if spec is not None and route_named(spec):
        # each check reads the input as the checks before it left it (the roles `alternate` decides, the ECS
        # services found from the target groups), as the plan does
        check_route(spec, world, found, clients, stack)
        check_services(world.spec or spec, world, found, clients, stack)
        check_alarms(world.spec or spec, found, clients)
        check_metrics(world.spec or spec, world, found, clients)
        check_lock(world.spec or spec, world, found, clients, stack)
        check_subscription(world.spec or spec, found, clients, stack)
        check_steps(world.spec or spec, world, found, clients)
        check_permissions(world.spec or spec, world, found, clients, stack)
        if not found.lines(PROBLEM):  # what the real plan would still refuse, if anything slipped through the above
            with found.catching("plan"):
                plan_weight_shift(
                    raw,
                    clients.cloudwatch,
                    clients.ecs,
                    lambda lock_id: lock.halted(clients.dynamodb, stack.lock_table, lock_id),
                    stack.clusters,
                )
    steps: list[DryRunStep] = [{"percent": s["percent"], "weights": s["weights"]} for s in world.steps]
    problems, warnings = found.lines(PROBLEM), found.lines(WARNING)
    report: DryRunReport = {
        "ready": not problems,
        "problems": problems,
        "warnings": warnings,
        "checks": found.checks,
        "steps": steps,
        "text": "",
    }
    report["text"] = plan_text(spec, world, report)
    return report


# --- the input -------------------------------------------------------------------------------------------------


def read_input(raw: Any, found: Findings) -> WeightShiftSpec | None:
    """The input as the real run reads it; if it has problems, each is one, and the rest of the dry run goes on
    with the input without the fields refused (None if what is left names no route and targets)."""
    spec: WeightShiftSpec | None = shared.read_input(raw, found, WeightShiftSpec, parse_spec, check_spec)
    return spec


def route_named(spec: WeightShiftSpec) -> bool:
    try:
        check_route_fields(spec)
    except InvalidRolloutInput:
        return False  # said by the input's check
    return True


# --- the route, its targets and their weights ---------------------------------------------------------------


def check_route(spec: WeightShiftSpec, world: World, found: Findings, clients: Clients, stack: Stack) -> None:
    backend = spec.route_backend
    module = backend_module(backend)
    fields = {f: getattr(spec, f) for f in ROUTE_FIELDS[backend]}
    try:
        deleted = {"deleted_stable": True} if spec.finalize.deleteStableTargetGroup else {}  # Lattice and ALB only
        world.resolved = module.resolve(fields, spec.stable, spec.canary, **deleted)
    except InvalidRolloutInput as exc:
        for where, problem in exc.problems:
            found.add("route", PROBLEM, f"{where}: {problem}")
        if exc.field in ("stable", "canary"):  # the route is there: read it with the other target on both sides
            world.failed_side = exc.field
            other = spec.canary if exc.field == "stable" else spec.stable
            with found.catching("route"):
                world.resolved = module.resolve(fields, other, other)
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("route", PROBLEM, f"could not read the route: {exc}")
    if world.resolved is None:
        return
    reference = world.resolved["reference"]
    world.lock_id = route_lock_id(reference)
    with found.catching("route"):
        world.route = route_for(reference)
        world.current = read_route(world.route)
    if world.current is None:
        return
    if spec.alternate and world.failed_side is None:  # the release loop: the idle target group is the canary
        with found.catching("route"):
            world.spec, world.resolved = take_turns(spec, world.resolved, world.current, clients.ecs, stack.clusters)
            found.add("route", OK, f"alternate: {world.resolved['canary']} is idle, it gets the release and the traffic")
    stable, canary = world.resolved["stable"], world.resolved["canary"]
    found.add("route", OK, f"{BACKEND_NAMES[backend]} route {reference['label']} forwards {describe_weights(world.current)}")
    if stable == canary:
        return  # one of them was not found: said above
    retired = is_retired(world.current, stable, canary)
    for side, name in (("stable", stable), ("canary", canary)):
        if retired and side == "stable":
            continue
        with found.catching("targets"):
            if not world.route.target_exists(name):
                found.add("targets", PROBLEM, f"{side}: {TARGET_KIND[backend]} {name!r} does not exist")
    with found.catching("route"):
        check_route_weights(world.current, stable, canary, reference["label"], world.route.scale)
        at = canary_percent(world.current, stable, canary)
        weight = world.current.get(canary, 0)
        found.add("canary", OK, f"{canary} has weight {weight} now ({at}% of what it shares with {stable})")


# --- ECS services -------------------------------------------------------------------------------------------------


def check_services(spec: WeightShiftSpec, world: World, found: Findings, clients: Clients, stack: Stack) -> None:
    """The ECS service behind each target group (found as the plan finds canaryEcsService) and each service the
    input names: it exists, and its tasks run."""
    wanted: dict[str, tuple[str, str, str]] = {}  # "cluster/service" -> (cluster, service, what it is)
    resolved = world.resolved
    if resolved is not None and resolved["arns"]:
        for side in [s for s in ("stable", "canary") if s != world.failed_side]:
            behind = service_behind(resolved, side, found, clients, stack)
            if behind is not None:
                wanted.setdefault(f"{behind['cluster']}/{behind['service']}", (behind["cluster"], behind["service"], side))
        if world.failed_side is None:
            with found.catching("ECS services"):  # a release or a scale-down that finds no service, or several
                world.spec = spec = with_ecs_services(spec, resolved, clients.ecs, stack.clusters)
    named = [("canaryEcsService", spec.canaryEcsService), ("finalize.stableEcsService", spec.finalize.stableEcsService)]
    named += [(f"healthGate.ecsServices[{i}]", service) for i, service in enumerate(spec.healthGate.ecsServices)]
    for where, service in named:
        if service is not None:
            wanted.setdefault(f"{service.cluster}/{service.service}", (service.cluster, service.service, where))
    for label, (cluster, name, what) in wanted.items():
        described = check_service(clients.ecs, label, cluster, name, what, found)
        if described is not None:
            world.services[label] = described


def service_behind(resolved: dict[str, Any], side: str, found: Findings, clients: Clients, stack: Stack) -> dict[str, str] | None:
    name = resolved[side]
    arn = resolved["arns"].get(name)
    if arn is None:
        return None
    try:
        with aws_errors("ListServices"):
            behind = service_of_target_group(clients.ecs, arn, stack.clusters)
    except AmbiguousService as several:
        found.add("ECS services", PROBLEM, f"{side}: ECS services {several} all register in target group {name!r}")
        return None
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("ECS services", PROBLEM, f"{side}: could not look for its service: {exc}")
        return None
    if behind is None:
        where = f"no ECS service of clusters {stack.clusters!r} registers in target group {name!r}"
        found.add("ECS services", WARNING, f"{side}: {where}")
    return behind


# --- alarms and metrics ---------------------------------------------------------------------------------------------


def check_alarms(spec: WeightShiftSpec, found: Findings, clients: Clients) -> None:
    named = [(f"healthGate.alarmNames[{i}]", name) for i, name in enumerate(spec.healthGate.alarmNames)]
    shared.check_alarms(named, found, clients.cloudwatch)


def gate_metrics(spec: WeightShiftSpec, world: World, clients: Clients) -> list[tuple[str, str, dict[str, Any], str]]:
    """(label, side, metric, when missing) of every metric the gate or the judge reads, as the plan builds them:
    healthGate.metrics and the maxErrorRate / maxLatencyMs presets (the canary's), and each compare metric for
    both sides. `when missing`: what no data does there (the gate's treatMissingData, the judge's whenNoData)."""
    resolved, current = world.resolved, world.current or {}
    own = [m.model_dump(mode="json") for m in spec.healthGate.metrics]
    if resolved is None:
        gate: dict[str, Any] = {"metrics": own, "compare": None}
    else:  # without a side the route does not forward to (resolved with the other side on both)
        gate, _ = gates(spec, resolved, current, clients.cloudwatch)
        if world.failed_side == "canary":
            gate["metrics"] = own
    return metrics_of(gate, world.failed_side)


def check_metrics(spec: WeightShiftSpec, world: World, found: Findings, clients: Clients) -> None:
    """Datapoints in the last window (bakeSeconds, at least 5 minutes) for every metric the gate or judge reads, as
    the gate counts them (gate.metric_value: a ratio needs its divisor, a Sum numerator with none is 0)."""
    metrics: list[tuple[str, str, dict[str, Any], str]] = []
    with found.catching("metrics"):
        metrics = gate_metrics(spec, world, clients)
    canary = spec.canary if world.failed_side else (world.resolved or {}).get("canary", spec.canary)
    no_traffic = {"canary": "the canary has no traffic yet"} if (world.current or {}).get(canary, 0) == 0 else {}
    check_datapoints(metrics, max(spec.bakeSeconds, MIN_WINDOW_SECONDS), found, clients.cloudwatch, no_traffic)


# --- the lock, the approval topic ---------------------------------------------------------------------------------


def check_lock(spec: WeightShiftSpec, world: World, found: Findings, clients: Clients, stack: Stack) -> None:
    """Free, or held by an execution whose lock has not expired (a stopped execution's is freed by its clean-up;
    an expired one is taken over by the next run)."""
    if world.lock_id is None or not shared.check_lock(world.lock_id, spec.whenLocked, found, clients, stack):
        return
    if spec.mode != "increment":
        return
    try:
        stopped = lock.halted(clients.dynamodb, stack.lock_table, world.lock_id)
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("lock", PROBLEM, f"could not read lock {world.lock_id}: {exc}")
        return
    if stopped is not None and stopped["canary"] == (world.resolved or {}).get("canary"):
        found.add("lock", WARNING, f"step mode halted by {stopped['haltedBy']} ({stopped['reason']}): a tick does nothing")


def check_subscription(spec: WeightShiftSpec, found: Findings, clients: Clients, stack: Stack) -> None:
    if spec.approval is not None:
        shared.check_subscription(spec.approval.beforeSteps, found, clients.sns, stack.topic_arn)


# --- the steps ----------------------------------------------------------------------------------------------------


def check_steps(spec: WeightShiftSpec, world: World, found: Findings, clients: Clients) -> None:
    resolved, current = world.resolved, world.current
    if resolved is None or current is None or resolved["stable"] == resolved["canary"]:
        return
    stable, canary = resolved["stable"], resolved["canary"]
    approvals = set(spec.approval.beforeSteps) if spec.approval else set()
    with found.catching("steps"):
        world.steps = plan_steps(current, stable, canary, step_list(spec), approvals, world.route.scale, spec.mode == "increment")
        if world.steps:
            percents = ", ".join(f"{step['percent']}%" for step in world.steps)
            found.add("steps", OK, f"{len(world.steps)} step{'s' if len(world.steps) != 1 else ''}: {percents} (weights above)")
        else:
            found.add("steps", OK, "nothing to move: the canary is already at the end of the plan")
    reaches_full = bool(world.steps) and world.steps[-1]["percent"] == 100 and spec.mode == "plan"
    world.finalize_ends = reaches_full or is_retired(current, stable, canary)
    with found.catching("release"):
        world.release = dict(plan_release(spec, clients.ecs) or {"pending": False})
        if world.release["pending"]:
            images = ", ".join(f"{n}={i}" for n, i in world.release["images"].items())
            found.add("release", OK, f"{world.release['cluster']}/{world.release['service']} gets {images} first")
            release_revision(world, clients)


def release_revision(world: World, clients: Clients) -> None:
    """The roles and tags of the revision RegisterRelease registers again (find_or_register: with the current
    revision's task and execution roles, and its tags), for the permissions that registration needs."""
    cluster, service = world.release["cluster"], world.release["service"]
    described = world.services.get(f"{cluster}/{service}") or describe_service(clients.ecs, cluster, service, "canaryEcsService")
    world.task_roles, world.tagged_family = shared.revision_to_register(clients.ecs, str(described["taskDefinition"]))


# --- the stack's roles ----------------------------------------------------------------------------------------------


class Calls(CallList):
    """{function logical id: {resource ARN ("*": none): [IAM actions]}}, each said once, with the route's ARNs."""

    def __init__(self, stack: Stack, reference: dict[str, Any]) -> None:
        super().__init__(stack)
        self.reference = reference

    def write_route(self, function: str) -> None:
        """A weight write on the route's own ARN, and the lock fence after it."""
        reference, arn = self.reference, self.stack.arn
        backend = reference["backend"]
        if backend == "appmesh":
            route = f"mesh/{reference['meshName']}/virtualRouter/{reference['virtualRouterName']}/route/{reference['routeName']}"
            self.add(function, arn("appmesh", route), "appmesh:DescribeRoute", "appmesh:UpdateRoute")
        elif backend == "lattice":
            listener = f"service/{reference['service']}/listener/{reference['listener']}"
            if reference.get("rule"):
                rule = arn("vpc-lattice", f"{listener}/rule/{reference['rule']}")
                self.add(function, rule, "vpc-lattice:GetRule", "vpc-lattice:UpdateRule")
            else:
                self.add(function, arn("vpc-lattice", listener), "vpc-lattice:GetListener", "vpc-lattice:UpdateListener")
        elif reference.get("ruleArn"):
            self.add(function, "*", "elasticloadbalancing:DescribeRules")
            self.add(function, reference["ruleArn"], "elasticloadbalancing:ModifyRule")
        else:
            self.add(function, "*", "elasticloadbalancing:DescribeListeners")
            self.add(function, reference["listenerArn"], "elasticloadbalancing:ModifyListener")
        self.table(function, "dynamodb:GetItem")  # the write's fence: does this execution still hold the lock?

    def service(self, world: World, cluster: str, service: str) -> str:
        return str(world.services.get(f"{cluster}/{service}", {}).get("serviceArn") or "") or self.stack.arn(
            "ecs", f"service/{cluster}/{service}"
        )


def real_run_calls(spec: WeightShiftSpec, world: World, resolved: dict[str, Any], stack: Stack) -> CallList:
    """The calls the real run would make ({function logical id: {resource ARN ("*": none): [IAM actions]}} and the
    condition keys they carry), with the route's own ARNs (the calls each function's handler makes, as
    tests/offline/test_iam.py records them, with the iam:PassRole, ecs:TagResource and kms requests AWS makes with
    them); `resolved`: the route the input names, as read."""
    calls = Calls(stack, resolved["reference"])
    spec = world.spec or spec
    calls.table("AcquireRouteLockFunction", "dynamodb:PutItem")
    calls.write_route("ShiftTrafficFunction")
    calls.health_gate("CanaryHealthFunction", spec.healthGate, lambda cluster, name: calls.service(world, cluster, name))
    if spec.approval is not None:
        calls.publish("RequestApprovalFunction")
    if world.finalize_ends:
        finalize_calls(spec, world, resolved, calls)
    if world.release.get("pending"):
        service_arn = calls.service(world, world.release["cluster"], world.release["service"])
        calls.register_release(service_arn, world.task_roles, world.tagged_family)
        calls.add("UpdateServiceFunction", service_arn, "ecs:DescribeServices", "ecs:UpdateService")
        calls.add("DeploymentHealthFunction", service_arn, "ecs:DescribeServices")  # CheckReleases, until it settles
        # UndoReleases: a failed run puts the service back on its previous revision
        calls.add("RollbackServiceFunction", service_arn, "ecs:DescribeServices", "ecs:UpdateService")
    calls.table("FinishRolloutFunction", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
    calls.publish("FinishRolloutFunction")
    return calls


def finalize_calls(spec: WeightShiftSpec, world: World, resolved: dict[str, Any], calls: Calls) -> None:
    """What FinalizeCanary does at 100%: the stable off the route, its service to zero, its target group or node gone."""
    settings, stable, reference = spec.finalize, resolved["stable"], resolved["reference"]
    if settings.removeStableTarget:
        calls.write_route("FinalizeCanaryFunction")
    if settings.scaleStableServiceToZero and settings.stableEcsService is not None:
        service_arn = calls.service(world, settings.stableEcsService.cluster, settings.stableEcsService.service)
        calls.add("FinalizeCanaryFunction", service_arn, "ecs:DescribeServices", "ecs:UpdateService")
    arns = resolved["arns"]
    if settings.deleteStableTargetGroup and stable in arns:
        service = "vpc-lattice" if reference["backend"] == "lattice" else "elasticloadbalancing"
        calls.add("FinalizeCanaryFunction", arns[stable], f"{service}:DeleteTargetGroup")
    if settings.deleteStableNode and reference["backend"] == "appmesh":
        node = calls.stack.arn("appmesh", f"mesh/{reference['meshName']}/virtualNode/{stable}")
        calls.add("FinalizeCanaryFunction", node, "appmesh:DeleteVirtualNode")


def check_permissions(spec: WeightShiftSpec, world: World, found: Findings, clients: Clients, stack: Stack) -> None:
    """Whether each function's role may make each call the real run makes (iam:SimulatePrincipalPolicy, one call
    per role and resource: the simulation evaluates every action named against every resource named,
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html)."""
    if world.resolved is not None:
        calls = real_run_calls(spec, world, world.resolved, stack)
        check_roles(calls.calls, found, clients.iam, stack, calls.context)


# --- the plan a person reads ----------------------------------------------------------------------------------------


def plan_text(spec: WeightShiftSpec | None, world: World, report: DryRunReport) -> str:
    lines = [verdict("the weight shift", report["problems"], report["warnings"])]
    resolved = world.resolved
    if spec is not None and resolved is not None:
        backend = resolved["reference"]["backend"]
        label, stable, canary = resolved["reference"]["label"], resolved["stable"], resolved["canary"]
        if world.failed_side is not None:  # the route was read without it: the input's names
            stable, canary = spec.stable, spec.canary
        lines.append(f"route: {BACKEND_NAMES[backend]} {label} ({stable} -> {canary})")
    if world.current is not None:
        lines.append(f"now: {describe_weights(world.current)}")
    if world.route is not None and (world.steps or world.current is not None):
        scale = world.route.scale
        bake = f", each baked {spec.bakeSeconds} s and gated" if spec else ""
        lines.append(f"steps (weights on the route's 0-{scale.max_weight} scale){bake}:")
        approvals = set(spec.approval.beforeSteps) if spec and spec.approval else set()
        for step in world.steps:
            asks = " (approval first)" if step.get("approval") or step["percent"] in approvals else ""
            lines.append(f"  {step['percent']:>3}%: {describe_weights(step['weights'])}{asks}")
        if world.failed_side is not None:
            lines.append(f"  not computed: the route does not forward to the {world.failed_side}")
        elif not world.steps:
            lines.append("  none")
    return shared.report_text(lines, report["checks"])
