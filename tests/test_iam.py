"""Every AWS action a function's handler calls is granted by some Allow statement of its own role in template.yaml.

The offline runs record, per function, each (service, operation) its handler called; the role's policy
statements are read from the template. What this proves is the action names only: a statement's Resource and
Condition are not evaluated against the call, so a Resource scoped to the wrong ARN (or a Condition the call
does not meet) passes here and is AccessDenied on AWS. The Resource side is checked only where a test below says
so (traffic writes name the stack's parameters; actions without resource types are granted on "*")."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator

import pytest

from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.template import Template
from tests.conftest import EVENTS, ROOT, load_json

IAM_PREFIX = {
    "stepfunctions": "states",
    "elbv2": "elasticloadbalancing",
}  # botocore service name -> IAM action prefix, where they differ
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# IAM authorizes a transaction by its items' own actions: lock.release deletes the lock and puts its record
ACTIONS_OF = {"dynamodb:TransactWriteItems": ("dynamodb:DeleteItem", "dynamodb:PutItem")}
SM = "WeightShiftStateMachine"


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


def _app_mesh_paths(account: OfflineAccount) -> None:
    """The guide's world after the mesh rollout: a rejection, a release whose deployment fails, and a release
    that succeeds and finalizes (scale to zero, delete the node)."""
    account.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
    shift = load_json(EVENTS / "weight-shift-apps.json")
    release = load_json(EVENTS / "weight-shift-release.json")
    assert account.run(SM, shift, approver=lambda pending: (False, "no")).error == "ApprovalRejected"
    _fail_next_deployment(account)
    assert account.run(SM, release).error == "DeploymentFailed"
    release["finalize"] = {
        "removeStableTarget": True,
        "deleteStableNode": True,
        "scaleStableServiceToZero": True,
        "stableEcsService": {"cluster": "apps", "service": "serviceB"},
    }
    assert account.run(SM, release, approver=lambda pending: (True, "ok")).status == "SUCCEEDED"


def _target_group_paths(account: OfflineAccount, backend: str) -> None:
    """The same paths on a VPC Lattice or ALB rule, the services found from their target groups, and a finalize
    that scales the stable service to zero and deletes its target group."""
    account.apply_given(load_json(EVENTS / "local" / f"{backend}-given.json"), EVENTS / "local")
    shift = json.loads(account.resolve_input((EVENTS / f"weight-shift-{backend}.json").read_text()))
    assert account.run(SM, shift, approver=lambda pending: (False, "no")).error == "ApprovalRejected"
    release = {**shift, "canaryImage": "example/servicebv2:1.1", "canaryContainer": "app"}
    _fail_next_deployment(account)
    assert account.run(SM, release).error == "DeploymentFailed"
    release["finalize"] = {"removeStableTarget": True, "deleteStableTargetGroup": True, "scaleStableServiceToZero": True}
    result = account.run(SM, release, approver=lambda pending: (True, "ok"))
    assert result.status == "SUCCEEDED", result.cause


def _lattice_rollout_paths(account: OfflineAccount) -> None:
    """The guide's mesh moved onto VPC Lattice: a plan, a run, and a run whose first deployment fails."""
    account.apply_given(load_json(EVENTS / "local" / "lattice-rollout-given.json"), EVENTS / "local")
    rollout = json.loads(account.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    assert account.run("LatticeRolloutStateMachine", {**rollout, "mode": "plan"}).status == "SUCCEEDED"
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceB"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])
    assert account.run("LatticeRolloutStateMachine", rollout).error == "DeploymentFailed"
    assert account.run("LatticeRolloutStateMachine", rollout).status == "SUCCEEDED"


def _fail_next_deployment(account: OfflineAccount) -> None:
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])


@pytest.fixture(scope="module")
def calls() -> Iterator[dict[str, set[tuple[str, str]]]]:
    """Every function's calls over the guide's mesh rollout and weight shifts down every path, on each backend."""
    merged: dict[str, set[tuple[str, str]]] = {}
    for backend in ("appmesh", "lattice", "alb", "lattice-rollout"):
        with OfflineAccount(ROOT / "template.yaml") as account:
            if backend == "lattice-rollout":
                _lattice_rollout_paths(account)
            else:
                _app_mesh_paths(account) if backend == "appmesh" else _target_group_paths(account, backend)
            for function, made in account.calls_by_function.items():
                merged.setdefault(function, set()).update(made)
    yield merged


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


def test_the_runs_reach_every_function_a_state_machine_calls(calls: dict[str, set[tuple[str, str]]]) -> None:
    template = Template(ROOT / "template.yaml")
    invoked = {f for f in template.functions if f != "ExecutionStatusChangeFunction"}  # EventBridge's, not a task
    assert set(calls) == invoked


def test_every_call_is_allowed_by_the_functions_own_role(calls: dict[str, set[tuple[str, str]]]) -> None:
    denied = {}
    for function, made in sorted(calls.items()):
    """By action name (see the module's docstring: not by Resource or Condition)."""
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
