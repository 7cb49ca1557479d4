"""Every AWS call a function's handler makes is allowed by its own role in template.yaml: action, resource and
condition, as IAM decides them.

The offline runs record each call a handler makes with its parameters (OfflineAccount(record_requests=True)). The
end of each execution is delivered to ExecutionStatusChangeFunction as EventBridge delivers it (class EventBridge):
its clean-ups after shifts stopped at their approval on each backend (one after its image release) and after a mesh
rollout stopped with its stop flag raised are recorded and checked as the state machines' tasks are. The ECS-native
deployment (EcsDeploymentStateMachine) runs on its ALB and VPC Lattice worlds with the template's hook-event rule made
in the emulated account, so that EcsHookEventFunction gets each pause's event: approved through, rejected at its
approval (ROLLBACK at our pause), stopped at its approval (the clean-up's ContinueServiceDeployment ROLLBACK), and a
deployment another tool started, gated by the execution its hook event starts (SSM settings looked up, the default
gate read), and stopped while ECS bakes a step (the clean-up's StopServiceDeployment ROLLBACK: no pause waits).
mesh_rollout_local.iam_requests turns each call into what IAM authorizes (its action on the ARN of each resource it
acts on, with the condition keys it carries; iam:PassRole, ecs:TagResource and kms requests AWS makes with it);
mesh_rollout_local.iam_policy resolves the role's statements against the offline stack and decides as IAM does
(explicit Deny wins; Action, Resource/NotResource and Condition must all match, with IAM's wildcards). Each call is
checked twice: with the template's parameter defaults ("*" names) and with the parameters narrowed to the names
of the world the run used (mesh, cluster, load balancer, Lattice service, task roles).

Condition keys evaluated: iam:PassedToService, ecs:CreateAction, ecs:cluster (iam_requests.CONDITION_KEYS). Keys
not evaluated offline: none used by a function's role today; NOT_EVALUATED lists them, and a key in neither fails
test_every_condition_key_of_a_role_is_evaluated. A statement whose condition key a request does not carry leaves
the call "not evaluated", which fails like a denial. Not covered: the state machines' own roles (their Task
integrations are not recorded calls), and whether DynamoDB item calls on the table encrypted with the stack's key
need kms permissions of the caller (iam_requests does not ask for them)."""

from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG, ecs_deployments
from mesh_rollout_local.emulator.events import wait_deliveries
from mesh_rollout_local.iam_policy import decide, role_statements
from mesh_rollout_local.iam_requests import CONDITION_KEYS, IAM_PREFIX, Stack, requests
from mesh_rollout_local.rollouts import ABORT_ERROR
from mesh_rollout_local.runner import ACCOUNT_ID, HandlerCall, OfflineAccount, RunResult
from mesh_rollout_local.template import Template
from tests.conftest import EVENTS, ROOT, load_json, wait_for
from tests.support import status_change_event, stop_running

# the module-scoped world is built once: `--dist loadgroup` (Makefile) keeps this module on one pytest-xdist worker
pytestmark = pytest.mark.xdist_group("test_iam")

NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# IAM authorizes a transaction by its items' own actions: lock.release deletes the lock and puts its record
ACTIONS_OF = {"dynamodb:TransactWriteItems": ("dynamodb:DeleteItem", "dynamodb:PutItem")}
SM = "WeightShiftStateMachine"
ESC = "ExecutionStatusChangeFunction"  # EventBridge invokes it when an execution ends
NOT_EVALUATED: set[str] = set()  # condition keys a role may use that these tests cannot evaluate offline
# the roles the guide's task definitions use: TaskRoleArns narrowed to them
TASK_ROLES = [f"arn:aws:iam::{ACCOUNT_ID}:role/ecsTaskRole", f"arn:aws:iam::{ACCOUNT_ID}:role/ecsTaskExecutionRole"]


@dataclass
class World:
    """One backend's runs: the offline stack as deployed, every call of every handler, and the parameters that
    narrow the template's names to this world's."""

    backend: str
    deployed: dict[str, Any]
    requests: dict[str, list[HandlerCall]]
    narrowed: dict[str, Any]


def allowed_actions(function: str) -> list[str]:
    """The actions the function's inline policy statements allow (the template uses no policy templates)."""
    properties = Template(ROOT / "template.yaml").resources[function]["Properties"]
    actions: list[str] = []
    for policy in properties.get("Policies", []):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, f"{function}: only inline statements are read"
        for statement in policy["Statement"]:
            if statement["Effect"] == "Allow":
                found = statement["Action"]
                actions.extend([found] if isinstance(found, str) else found)
    return actions


class EventBridge:
    """EventBridge's part in a world: the end of each execution ExecutionStatusChangeFunction's rule matches (its
    state machines and statuses, read from the template) is delivered once, after it ended, to the real handler
    through the Lambda API, so that the handler's calls are recorded as the function's."""

    def __init__(self, account: OfflineAccount) -> None:
        self.account = account
        pattern = account.template.resources[ESC]["Properties"]["Events"]["StatusChange"]["Properties"]["Pattern"]
        self.machines: list[str] = account.template.resolve(pattern["detail"]["stateMachineArn"], account.deployed)
        self.statuses = set(pattern["detail"]["status"])
        self.delivered: dict[str, dict[str, Any]] = {}  # the handler's answer, by execution ARN

    def deliver_ends(self) -> dict[str, dict[str, Any]]:
        """Deliver the end of each matched execution that ended since the last call; the handler's answers."""
        sfn, fresh = self.account.client("stepfunctions"), {}
        for machine in self.machines:
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                for listed in page["executions"]:
                    arn = listed["executionArn"]
                    if listed["status"] in self.statuses and arn not in self.delivered:
                        ended = sfn.describe_execution(executionArn=arn)
                        detail = {key: ended.get(key) for key in ("output", "error", "cause")}
                        fresh[arn] = self.delivered[arn] = self._invoke(
                            status_change_event(arn, machine, listed["status"], **detail)
                        )
        return fresh

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        answer = self.account.client("lambda").invoke(
            FunctionName=self.account.function_arns[ESC], Payload=json.dumps(event).encode()
        )
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, result
        return result

    def run(self, machine: str, execution_input: Any, **options: Any) -> tuple[RunResult, dict[str, Any] | None]:
        """Run an execution, then deliver its end: the result and the clean-up's answer (None if not matched)."""
        result = self.account.run(machine, execution_input, **options)
        return result, self.deliver_ends().get(result.execution_arn)


class StoppedBeforeItRan(Exception):
    """The stopped execution's task never runs on AWS; offline the interpreter has already invoked it."""


def _aborted_mesh_rollout(bus: EventBridge) -> None:
    """The guide's mesh rollout, serviceB's deployment failing: the failure raises the stop flag, and the rollout
    is stopped (as `mesh-rollout abort` stops it) before FinishMeshRollout could remove it: the clean-up does."""
    account = bus.account
    _fail_next_deployment(account, "serviceB")
    stopped: list[str] = []

    def stop_before_it_runs(event: dict[str, Any]) -> None:
        if stopped:
            return
        stopped.append(event["executionArn"])
        sfn = account.client("stepfunctions")
        # the operator's StopExecution, from a thread of its own: the runner records a function's calls per thread
        with ThreadPoolExecutor(1) as operator:
            operator.submit(sfn.stop_execution, executionArn=stopped[0], error=ABORT_ERROR, cause="serviceB failed").result()
        raise StoppedBeforeItRan(stopped[0])

    account.intercept("FinishMeshRolloutFunction", stop_before_it_runs)
    result, cleaned = bus.run("MeshRolloutStateMachine", load_json(EVENTS / "mesh-rollout-apps.json"))
    assert (result.status, stopped) == ("ABORTED", [result.execution_arn]), result.cause
    flag = f"stopped:{result.execution_arn}"
    assert cleaned and cleaned["done"] == [f"stop flag {flag} removed (the rollout ended before FinishMeshRollout removed it)"]
    assert cleaned["notified"] is True


def _stopped_at_the_approval(bus: EventBridge, shift: dict[str, Any], released: bool) -> None:
    """A shift stopped (StopExecution: no Catch runs) while it waits for approval at 50/50: the clean-up restores
    the route, puts the canary service back on its revision if the shift released an image, and frees the lock."""

    def stop(pending: PendingApproval) -> None:
        stop_running(bus.account, error="Operator", cause="stopped by hand")

    result, cleaned = bus.run(SM, shift, approver=stop)
    assert result.status == "ABORTED" and cleaned is not None, result.cause
    restored, *put_back, lock_line = cleaned["done"]
    assert " restored to its snapshot " in restored and lock_line.endswith(" released"), cleaned
    assert [line.split(" put back on ")[0] for line in put_back] == (["ECS service apps/serviceBv2"] if released else [])
    assert cleaned["notified"] is True


def _app_mesh_paths(bus: EventBridge) -> None:
    """The guide's world: its mesh rollout aborted after a failure, then run through; then weight shifts: a
    rejection, a release stopped at its approval after the canary service took the release's revision, a release
    whose deployment fails, and a release that succeeds and finalizes (scale to zero, delete the node)."""
    account = bus.account
    given = load_json(EVENTS / "local" / "weight-shift-given.json")
    assert given[0] == {"include": "apps-given.json"}, given[0]  # the guide's world before its mesh rollout
    account.apply_given(given[:1], EVENTS / "local")
    _aborted_mesh_rollout(bus)
    account.apply_given(given[1:], EVENTS / "local")
    bus.deliver_ends()
    shift = load_json(EVENTS / "weight-shift-apps.json")
    release = load_json(EVENTS / "weight-shift-release.json")
    assert bus.run(SM, {**release, "dryRun": True})[0].status == "SUCCEEDED"  # its reads, approval topic, roles
    assert bus.run(SM, shift, approver=lambda pending: (False, "no"))[0].error == "ApprovalRejected"
    _stopped_at_the_approval(bus, release, released=True)
    _fail_next_deployment(account)
    assert bus.run(SM, release)[0].error == "DeploymentFailed"
    release["finalize"] = {
        "removeStableTarget": True,
        "deleteStableNode": True,
        "scaleStableServiceToZero": True,
        "stableEcsService": {"cluster": "apps", "service": "serviceB"},
    }
    assert bus.run(SM, release, approver=lambda pending: (True, "ok"))[0].status == "SUCCEEDED"


def _target_group_paths(bus: EventBridge, backend: str) -> None:
    """The same paths on a VPC Lattice or ALB rule, the services found from their target groups (a shift stopped
    at its approval, without a release), and a finalize that scales the stable service to zero and deletes its
    target group."""
    account = bus.account
    account.apply_given(load_json(EVENTS / "local" / f"{backend}-given.json"), EVENTS / "local")
    shift = json.loads(account.resolve_input((EVENTS / f"weight-shift-{backend}.json").read_text()))
    assert bus.run(SM, {**shift, "dryRun": True})[0].status == "SUCCEEDED"  # the services found from target groups
    assert bus.run(SM, shift, approver=lambda pending: (False, "no"))[0].error == "ApprovalRejected"
    _stopped_at_the_approval(bus, shift, released=False)
    release = {**shift, "canaryImage": "example/servicebv2:1.1", "canaryContainer": "app"}
    _fail_next_deployment(account)
    assert bus.run(SM, release)[0].error == "DeploymentFailed"
    release["finalize"] = {"removeStableTarget": True, "deleteStableTargetGroup": True, "scaleStableServiceToZero": True}
    result, _ = bus.run(SM, release, approver=lambda pending: (True, "ok"))
    assert result.status == "SUCCEEDED", result.cause


def _lattice_rollout_paths(bus: EventBridge) -> None:
    """The guide's mesh moved onto VPC Lattice: a plan, a run, and a run whose first deployment fails."""
    account = bus.account
    account.apply_given(load_json(EVENTS / "local" / "lattice-rollout-given.json"), EVENTS / "local")
    bus.deliver_ends()
    rollout = json.loads(account.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    # with AWS_IAM, so the auth policies are put (and read back) on the network and each service
    invoke = {"Effect": "Allow", "Principal": "*", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}
    auth = {"authType": "AWS_IAM", "authPolicy": {"Version": "2012-10-17", "Statement": [invoke]}}
    rollout["lattice"] = {**rollout["lattice"], **auth}
    assert account.run("LatticeRolloutStateMachine", {**rollout, "mode": "plan"}).status == "SUCCEEDED"
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceB"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])
    assert account.run("LatticeRolloutStateMachine", rollout).error == "DeploymentFailed"
    assert account.run("LatticeRolloutStateMachine", rollout).status == "SUCCEEDED"


ECS_SM = "EcsDeploymentStateMachine"
ECS_HOOK = "EcsHookEventFunction"  # EventBridge invokes it on "ECS Hook State Change" HOOK_AWAITING_ACTION


def _deliver_hook_events(account: OfflineAccount) -> None:
    """The template's rule for EcsHookEventFunction, made in the emulated account (OfflineAccount deploys no
    EventBridge rules): the emulator's ECS puts each pause's "ECS Hook State Change" event on the default bus and
    the rule delivers it to the real handler, asynchronously (emulator/events.py)."""
    pattern = account.template.resources[ECS_HOOK]["Properties"]["Events"]["HookAwaitingAction"]["Properties"]["Pattern"]
    events = account.client("events")
    events.put_rule(Name="ecs-hook-awaiting-action", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="ecs-hook-awaiting-action", Targets=[{"Id": "hook", "Arn": account.function_arns[ECS_HOOK]}])


def _ecs_service_idle(account: OfflineAccount, service: str = "checkout", timeout: float = 60.0) -> None:
    """Wait until ECS has no deployment of the service in progress (a rollback the clean-up asked for runs on)."""
    ecs, ongoing = account.client("ecs"), ["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
    wait_for(
        f"end of {service}'s deployments",
        lambda: not ecs.list_service_deployments(cluster="apps", service=service, status=ongoing)["serviceDeployments"],
        timeout,
        every=0.1,
    )


def _gate_of_a_deployment_started_elsewhere(bus: EventBridge) -> None:
    """Another tool's UpdateService on the service that keeps our PAUSE hook: its first pause's event starts a gate
    execution (gate-<deployment id>, the default gate: GetParameter finds no settings, the deployment's alarms are
    read), which gates the deployment through to its end."""
    account = bus.account
    sfn = account.client("stepfunctions")
    machine = account.state_machine_arns[ECS_SM]
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    account.client("ecs").update_service(cluster="apps", service="checkout", taskDefinition="checkout:1")

    def ended_gate() -> dict[str, Any] | None:
        found = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["executionArn"] not in before]
        return found[0] if found and found[0]["status"] != "RUNNING" else None

    gate = wait_for("gate execution's end", ended_gate, 300, every=0.2)
    assert gate["name"].startswith("gate-"), gate
    ended = sfn.describe_execution(executionArn=gate["executionArn"])
    assert ended["status"] == "SUCCEEDED", (ended["status"], ended.get("error"), ended.get("cause"))
    bus.deliver_ends()


def _stop_the_running_ecs_deployment(account: OfflineAccount) -> None:
    sfn = account.client("stepfunctions")
    (running,) = sfn.list_executions(stateMachineArn=account.state_machine_arns[ECS_SM], statusFilter="RUNNING")["executions"]
    sfn.stop_execution(executionArn=running["executionArn"], error="Operator", cause="stopped by hand")


def _stopped_while_ecs_bakes(bus: EventBridge, deployment: dict[str, Any]) -> None:
    """Stopped (as `mesh-rollout abort` stops it) when it reads ECS after its first CONTINUE, while ECS bakes the
    first step (no pause waits; ECS's clock slowed so that none comes before the clean-up): the clean-up rolls the
    deployment back with StopServiceDeployment ROLLBACK."""
    account, stopped = bus.account, list[str]()

    def stop_at_the_read_after_continue(event: dict[str, Any]) -> None:
        if stopped or event.get("ecs", {}).get("decision") != "CONTINUE":
            return
        stopped.append(event["executionArn"])
        sfn = account.client("stepfunctions")
        with ThreadPoolExecutor(1) as operator:  # the runner records a function's calls per thread
            operator.submit(sfn.stop_execution, executionArn=event["executionArn"], error=ABORT_ERROR, cause="abort").result()
        raise StoppedBeforeItRan(event["executionArn"])

    account.intercept("EcsDeploymentStatusFunction", stop_at_the_read_after_continue)
    with mock.patch.object(ecs_deployments, "MINUTE_SECONDS", 1.0):  # a step's 10-minute bake lasts 10 s
        result, cleaned = bus.run(ECS_SM, deployment, approver=lambda pending: (True, "ok"))
    assert result.status == "ABORTED" and stopped == [result.execution_arn] and cleaned is not None, (result.cause, cleaned)
    assert cleaned["done"][0].endswith(" stopped with a rollback (was IN_PROGRESS)"), cleaned  # StopServiceDeployment


def _ecs_deployment_paths(bus: EventBridge, backend: str) -> None:
    """The ECS-native deployment (EcsDeploymentStateMachine) on an ALB or a VPC Lattice rule, its hook events
    delivered: approved through to the end; on ALB also a CANARY rejected at its approval (ROLLBACK at our pause),
    one stopped at its approval (the clean-up rolls ECS's deployment back at the pause) and a deployment another tool
    started, gated by the execution its hook event starts."""
    account = bus.account
    account.apply_given(load_json(EVENTS / "local" / f"ecs-deployment-{backend}-given.json"), EVENTS / "local")
    _deliver_hook_events(account)
    deployment = json.loads(account.resolve_input((EVENTS / f"ecs-deployment-{backend}.json").read_text()))
    assert bus.run(ECS_SM, {**deployment, "dryRun": True})[0].status == "SUCCEEDED"  # its reads, topic, roles
    result, _ = bus.run(ECS_SM, deployment, approver=lambda pending: (True, "ok"))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    if backend != "alb":
        return
    canary = {
        **deployment,
        "taskDefinition": "checkout:1",
        "deploymentConfiguration": {
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10},
        },
    }
    _ecs_service_idle(account)
    result, _ = bus.run(ECS_SM, canary, approver=lambda pending: (False, "no"))
    assert result.error == "ApprovalRejected", (result.status, result.error, result.cause)
    _ecs_service_idle(account)

    def stop(pending: PendingApproval) -> None:
        _stop_the_running_ecs_deployment(account)

    result, cleaned = bus.run(ECS_SM, canary, approver=stop)
    assert result.status == "ABORTED" and cleaned is not None and cleaned["notified"] is True, (result.cause, cleaned)
    _ecs_service_idle(account)
    _stopped_while_ecs_bakes(bus, {**deployment, "taskDefinition": "checkout:1"})
    _ecs_service_idle(account)
    _gate_of_a_deployment_started_elsewhere(bus)
    assert wait_deliveries(30), "hook events still being delivered"


def _fail_next_deployment(account: OfflineAccount, service: str = "serviceBv2") -> None:
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=[service])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])


@pytest.fixture(scope="module")
def worlds() -> Iterator[list[World]]:
    """The guide's mesh rollout and weight shifts down every path, on each backend, every call recorded."""
    found = []
    for backend in ("appmesh", "lattice", "alb", "lattice-rollout", "ecs-alb", "ecs-lattice"):
        with OfflineAccount(ROOT / "template.yaml", record_requests=True) as account:
            bus = EventBridge(account)
            if backend == "lattice-rollout":
                _lattice_rollout_paths(bus)
            elif backend.startswith("ecs-"):
                _ecs_deployment_paths(bus, backend.removeprefix("ecs-"))
            else:
                _app_mesh_paths(bus) if backend == "appmesh" else _target_group_paths(bus, backend)
            assert account.requests_by_function is not None
            # the Lattice service whose rules the weight shifts (or ECS's deployments) move (the world may hold others)
            shifted = [
                call
                for function in ("ShiftTrafficFunction", "EcsDeploymentStatusFunction")
                for call in account.requests_by_function.get(function, [])
            ]
            services = sorted({p["serviceIdentifier"].rsplit("/", 1)[-1] for s, _, p in shifted if s == "vpc-lattice"})
            assert len(services) <= 1, services
            narrowed = {
                "MeshName": "apps",
                "ClusterName": "apps",
                "LoadBalancerName": "apps",
                "LatticeServiceId": services[0] if services else "svc-0000000000000000a",
                "TaskRoleArns": TASK_ROLES,
            }
            found.append(World(backend, dict(account.deployed), account.requests_by_function, narrowed))
    yield found


@pytest.fixture(scope="module")
def calls(worlds: list[World]) -> dict[str, set[tuple[str, str]]]:
    """Every (service, operation) each function called, over all worlds."""
    merged: dict[str, set[tuple[str, str]]] = {}
    for world in worlds:
        for function, made in world.requests.items():
            merged.setdefault(function, set()).update((service, operation) for service, operation, _ in made)
    return merged


def not_allowed(template: Template, worlds: list[World], narrowed: bool) -> dict[str, set[tuple[str, ...]]]:
    """{function: {(decision, action, resource, call)}} for each request of the worlds' calls its role does not
    allow, with the template's parameter defaults or the worlds' own names."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for world in worlds:
        stack = {**world.deployed, **(world.narrowed if narrowed else {})}
        where = Stack.deployed(template, stack)
        for function, made in world.requests.items():
            statements = role_statements(template, function, stack)
            for service, operation, params in made:
                for request in requests(service, operation, params, where):
                    decision = decide(statements, request)
                    if decision != "allowed":
                        found.setdefault(function, set()).add((decision, request.action, request.resource, request.call))
    return found


def test_the_target_group_paths_reach_the_lattice_and_load_balancer_apis(calls: dict[str, set[tuple[str, str]]]) -> None:
    assert {("vpc-lattice", "UpdateRule"), ("elbv2", "ModifyRule")} <= calls["ShiftTrafficFunction"]
    assert {("vpc-lattice", "DeleteTargetGroup"), ("elbv2", "DeleteTargetGroup"), ("ecs", "UpdateService")} <= calls[
        "FinalizeCanaryFunction"
    ]
    assert {("ecs", "ListServices"), ("cloudwatch", "ListMetrics")} <= calls["PlanWeightShiftFunction"]


def test_traffic_writes_are_scoped_by_the_stacks_parameters() -> None:
    """Rule and listener changes name the parameter-scoped service or load balancer, never every resource."""
    template = Template(ROOT / "template.yaml")
    for function in template.functions:
        for policy in template.resources[function]["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                writes = [a for a in actions if a.split(":")[1].startswith(("Update", "Modify", "Delete"))]
                if any(a.startswith(("vpc-lattice:", "elasticloadbalancing:")) for a in writes):
                    resources = json.dumps(statement["Resource"])
                    assert statement["Resource"] != "*", (function, statement["Sid"])
                    assert (
                        "${LatticeServiceId}" in resources or "${LoadBalancerName}" in resources or "targetgroup/" in (resources)
                    ), (function, statement["Sid"])


def test_the_runs_reach_every_function(calls: dict[str, set[tuple[str, str]]]) -> None:
    """The state machines' tasks, and ExecutionStatusChangeFunction through the ends EventBridge delivers."""
    assert set(calls) == set(Template(ROOT / "template.yaml").functions)


def test_the_delivered_ends_reach_every_clean_up(calls: dict[str, set[tuple[str, str]]]) -> None:
    """The history read, the lock taken over and released with its record, the route restored on each backend, the
    canary service put back, the stop flag removed (its DeleteItem), the notice on the encrypted topic."""
    assert {
        ("stepfunctions", "GetExecutionHistory"),
        ("dynamodb", "PutItem"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodb", "DeleteItem"),
        ("appmesh", "UpdateRoute"),
        ("vpc-lattice", "UpdateRule"),
        ("elbv2", "ModifyRule"),
        ("ecs", "DescribeServices"),
        ("ecs", "UpdateService"),
        ("sns", "Publish"),
    } <= calls[ESC]


def test_the_ecs_deployment_runs_reach_the_service_deployment_apis(calls: dict[str, set[tuple[str, str]]]) -> None:
    """Each ECS deployment function's calls of ECS's service-deployment API (and of SSM, Step Functions) are among
    those evaluated."""
    expected = {
        "PlanEcsDeploymentFunction": {("ecs", "ListServiceDeployments"), ("ecs", "DescribeServiceDeployments")},
        "StartEcsDeploymentFunction": {("ecs", "UpdateService"), ("ecs", "ListServiceDeployments"), ("dynamodb", "UpdateItem")},
        "EcsDeploymentStatusFunction": {
            ("ecs", "DescribeServiceDeployments"),
            ("elbv2", "DescribeRules"),
            ("vpc-lattice", "GetRule"),
        },
        "EcsStepCheckFunction": {("cloudwatch", "GetMetricData")},
        "EcsDecideFunction": {("ecs", "ContinueServiceDeployment"), ("dynamodb", "GetItem")},
        "FinishEcsDeploymentFunction": {("dynamodb", "TransactWriteItems"), ("sns", "Publish")},
        ECS_HOOK: {
            ("dynamodb", "GetItem"),
            ("ssm", "GetParameter"),
            ("ecs", "DescribeServiceDeployments"),
            ("stepfunctions", "StartExecution"),
        },
        ESC: {("ecs", "DescribeServiceDeployments"), ("ecs", "ContinueServiceDeployment"), ("ecs", "StopServiceDeployment")},
    }
    assert {function: made - calls[function] for function, made in expected.items() if made - calls[function]} == {}


@pytest.mark.parametrize("narrowed", [False, True], ids=["parameter-defaults", "narrowed-to-the-world"])
def test_every_call_is_allowed_by_the_functions_own_role(worlds: list[World], narrowed: bool) -> None:
    """Action, resource and condition of each request of each call (see the module's docstring)."""
    assert not_allowed(Template(ROOT / "template.yaml"), worlds, narrowed) == {}


def test_every_action_is_granted_by_name(calls: dict[str, set[tuple[str, str]]]) -> None:
    """By action name alone: the first thing to fix when a handler calls a new API."""
    denied: dict[str, list[str]] = {}
    for function, made in sorted(calls.items()):
        allowed = allowed_actions(function)
        for service, operation in sorted(made):
            called = f"{IAM_PREFIX.get(service, service)}:{operation}"
            for action in ACTIONS_OF.get(called, (called,)):
                if action not in NEEDS_NO_PERMISSION and not any(fnmatch.fnmatchcase(action, a) for a in allowed):
                    denied.setdefault(function, []).append(action)
    assert denied == {}


NO_RESOURCE_TYPES = (  # the Service Authorization Reference lists no resource type for these: only "*" matches
    "vpc-lattice:ListServices",
    "vpc-lattice:ListListeners",
    "vpc-lattice:ListRules",
    "vpc-lattice:ListTargetGroups",
    "ecs:ListClusters",
    "ecs:ListServices",
    "cloudwatch:ListMetrics",
    "elasticloadbalancing:Describe*",
)


def test_actions_without_resource_types_are_granted_on_every_resource() -> None:
    template = Template(ROOT / "template.yaml")
    misplaced = []
    for function in template.functions:
        for policy in template.resources[function]["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                for action in actions:
                    if (
                        any(fnmatch.fnmatchcase(action, pattern) for pattern in NO_RESOURCE_TYPES)
                        and statement["Resource"] != "*"
                    ):
                        misplaced.append((function, statement["Sid"], action))
    assert misplaced == []


def test_every_condition_key_of_a_role_is_evaluated() -> None:
    """A key outside iam_requests.CONDITION_KEYS fails here until it is derived from the calls (or listed in
    NOT_EVALUATED and the module's docstring)."""
    template = Template(ROOT / "template.yaml")
    used = {
        key
        for function in template.functions
        for policy in template.resources[function]["Properties"].get("Policies", [])
        for statement in policy.get("Statement", [])
        for keys in statement.get("Condition", {}).values()
        for key in keys
    }
    assert used - CONDITION_KEYS - NOT_EVALUATED == set()
    assert {"iam:PassedToService", "ecs:CreateAction", "ecs:cluster"} <= used  # what the docstring says is evaluated


def _statement(template: Template, function: str, sid: str) -> dict[str, Any]:
    (policy,) = template.resources[function]["Properties"]["Policies"]
    (found,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    return found  # type: ignore[no-any-return]


def test_a_narrowed_resource_or_a_changed_condition_is_reported_denied(worlds: list[World]) -> None:
    """The real template with three faults: the lock table is another table's, the task roles are passed to the
    wrong service, ListServices is limited to another cluster. Exactly those calls are reported denied."""
    template = Template(ROOT / "template.yaml")
    template.resources = copy.deepcopy(template.resources)
    _statement(template, "AcquireRouteLockFunction", "TakeLocks")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/another-table"
    }
    _statement(template, "RegisterReleaseFunction", "PassTaskRoles")["Condition"]["StringEquals"] = {
        "iam:PassedToService": "ecs.amazonaws.com"
    }
    _statement(template, "PlanWeightShiftFunction", "FindTheServiceOfATargetGroup")["Condition"]["ArnLike"] = {
        "ecs:cluster": {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/other*"}
    }
    table = f"arn:aws:dynamodb:us-west-2:{ACCOUNT_ID}:table/mesh-rollout-local-RouteLockTable"
    assert not_allowed(template, worlds, narrowed=False) == {
        "AcquireRouteLockFunction": {("denied", "dynamodb:PutItem", table, "dynamodb.PutItem")},
        "RegisterReleaseFunction": {("denied", "iam:PassRole", role, "ecs.RegisterTaskDefinition") for role in TASK_ROLES},
        "PlanWeightShiftFunction": {("denied", "ecs:ListServices", "*", "ecs.ListServices")},
    }


def test_a_parameter_narrowed_to_another_name_denies_the_calls_on_this_worlds(worlds: list[World]) -> None:
    """ClusterName narrowed to a cluster the world does not use: every ECS service call is denied."""
    template = Template(ROOT / "template.yaml")
    other = [World(w.backend, w.deployed, w.requests, {**w.narrowed, "ClusterName": "other"}) for w in worlds]
    denied = not_allowed(template, other, narrowed=True)
    assert {
        ("denied", "ecs:UpdateService", f"arn:aws:ecs:us-west-2:{ACCOUNT_ID}:service/apps/serviceBv2", "ecs.UpdateService")
    } <= denied["UpdateServiceFunction"]
    assert {decision for found in denied.values() for decision, action, *_ in found if action.startswith("ecs:")} == {"denied"}
    assert all(action.startswith("ecs:") for found in denied.values() for _, action, *_ in found)


LATTICE_RULE = "arn:aws:vpc-lattice:us-west-2:{account}:service/{service}/listener/*/rule/*"


@pytest.mark.parametrize("narrowed", [False, True], ids=["parameter-defaults", "narrowed-to-the-world"])
@pytest.mark.parametrize(
    ("sid", "action", "call", "resource"),
    [
        (
            "PutCanaryServicesBack",
            "ecs:UpdateService",
            "ecs.UpdateService",
            "arn:aws:ecs:us-west-2:{account}:service/apps/serviceBv2",
        ),
        ("ShiftLatticeRules", "vpc-lattice:UpdateRule", "vpc-lattice.UpdateRule", LATTICE_RULE),
    ],
    ids=["without-UpdateService", "without-UpdateRule"],
)
def test_an_action_taken_from_the_clean_ups_role_denies_exactly_its_calls(
    worlds: list[World], sid: str, action: str, call: str, resource: str, narrowed: bool
) -> None:
    """ExecutionStatusChangeFunction's role without the action that puts the canary service back, or without the
    one that restores a Lattice rule: the clean-up's calls of that action, and only those, are reported denied."""
    template = Template(ROOT / "template.yaml")
    template.resources = copy.deepcopy(template.resources)
    statement = _statement(template, ESC, sid)
    statement["Action"] = [a for a in statement["Action"] if a != action]
    (lattice,) = [w.narrowed["LatticeServiceId"] for w in worlds if w.backend == "lattice"]
    denied = not_allowed(template, worlds, narrowed)
    assert set(denied) == {ESC}
    ((decision, denied_action, denied_resource, denied_call),) = denied[ESC]  # one service put back, one rule restored
    assert (decision, denied_action, denied_call) == ("denied", action, call)
    assert fnmatch.fnmatchcase(denied_resource, resource.format(account=ACCOUNT_ID, service=lattice)), denied_resource
