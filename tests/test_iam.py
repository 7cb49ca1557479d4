"""Every AWS call a function's handler makes is allowed by that function's own role in template.yaml.

The offline runs record, per function, each (service, operation) its handler called; the role's policy
statements are read from the template. A call the role does not allow would be AccessDenied on AWS."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

import pytest

from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.template import Template
from tests.conftest import EVENTS, ROOT, load_json

IAM_PREFIX = {"stepfunctions": "states"}  # botocore service name -> IAM action prefix, where they differ
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
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


@pytest.fixture(scope="module")
def calls() -> Iterator[dict[str, set[tuple[str, str]]]]:
    """The guide's mesh rollout, then weight shifts down every path: rejection, a release whose deployment
    fails, and a release that succeeds and finalizes (scale to zero, delete the node)."""
    with OfflineAccount(ROOT / "template.yaml") as account:
        account.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        shift = load_json(EVENTS / "weight-shift-apps.json")
        release = load_json(EVENTS / "weight-shift-release.json")
        assert account.run(SM, shift, approver=lambda pending: (False, "no")).error == "ApprovalRejected"

        ecs = account.client("ecs")
        arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["serviceArn"]
        ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])
        assert account.run(SM, release).error == "DeploymentFailed"

        release["finalize"] = {
            "removeStableTarget": True,
            "deleteStableNode": True,
            "scaleStableServiceToZero": True,
            "stableEcsService": {"cluster": "apps", "service": "serviceB"},
        }
        assert account.run(SM, release, approver=lambda pending: (True, "ok")).status == "SUCCEEDED"
        yield account.calls_by_function


def test_the_runs_reach_every_function_a_state_machine_calls(calls: dict[str, set[tuple[str, str]]]) -> None:
    template = Template(ROOT / "template.yaml")
    invoked = {f for f in template.functions if f != "ExecutionStatusChangeFunction"}  # EventBridge's, not a task
    assert set(calls) == invoked


def test_every_call_is_allowed_by_the_functions_own_role(calls: dict[str, set[tuple[str, str]]]) -> None:
    denied = {}
    for function, made in sorted(calls.items()):
        allowed = allowed_actions(function)
        for service, operation in sorted(made):
            action = f"{IAM_PREFIX.get(service, service)}:{operation}"
            if action not in NEEDS_NO_PERMISSION and not any(fnmatch.fnmatchcase(action, a) for a in allowed):
                denied.setdefault(function, []).append(action)
    assert denied == {}
