"""The dry run's plain functions (shifting/dry_run.py): the input read past its problems, the calls the real run
would make with the route's own ARNs, the permissions asked of IAM (pages, decisions, a refused simulation) and the
plan's text. No emulated account: IAM is a stub answering as SimulatePrincipalPolicy does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from mesh_rollout.shifting.dry_run import (
    Findings,
    Stack,
    World,
    check_permissions,
    drop,
    read_input,
    real_run_calls,
)
from mesh_rollout.shifting.inputs import parse_spec

TOPIC = "arn:aws:sns:us-west-2:123456789012:mesh-rollout-NotificationTopic"
RULE = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/apps/1/2/3"
LISTENER = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/apps/1/2"
ROLES = {
    name: f"arn:aws:iam::123456789012:role/stack-{name}Role"
    for name in (
        "ShiftTrafficFunction",
        "AcquireRouteLockFunction",
        "FinalizeCanaryFunction",
        "RequestApprovalFunction",
        "FinishRolloutFunction",
        "CanaryHealthFunction",
        "RegisterReleaseFunction",
        "UpdateServiceFunction",
    )
}
ALB_SHIFT = {
    "listenerArn": LISTENER,
    "ruleArn": RULE,
    "stable": "serviceB",
    "canary": "serviceBv2",
    "steps": [50, 100],
    "healthGate": {"alarmNames": ["serviceBv2-5xx"], "maxErrorRate": 0.01},
    "approval": {"beforeSteps": [100]},
    "finalize": {"removeStableTarget": True, "scaleStableServiceToZero": True, "deleteStableTargetGroup": True},
}


def alb_world(**spec: Any) -> World:
    shift = parse_spec({**ALB_SHIFT, **spec})
    groups = {n: f"arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/{n}/1" for n in ("serviceB", "serviceBv2")}
    resolved = {
        "reference": {"backend": "alb", "listenerArn": LISTENER, "ruleArn": RULE, "label": "apps:80/rule 10"},
        "stable": "serviceB",
        "canary": "serviceBv2",
        "arns": groups,
    }
    world = World(spec=shift, resolved=resolved, finalize_ends=True)
    return world


def stack(roles: dict[str, str] | None = None) -> Stack:
    return Stack(lock_table="locks", topic_arn=TOPIC, roles=ROLES if roles is None else roles)


def test_an_input_with_problems_is_read_without_the_fields_refused() -> None:
    found = Findings()
    spec = read_input({**ALB_SHIFT, "bakeSecond": 300, "steps": [50, 40], "healthGate": {"alarmNames": "x"}}, found)
    assert spec is not None and spec.canary == "serviceBv2"
    assert found.lines("problem") == [  # the form's problems in the input's order, then the rules between fields
        "input: healthGate.alarmNames: Input should be a valid list",
        "input: bakeSecond: unknown field; did you mean bakeSeconds?",
        "input: steps[1]: 40 must be above the step before it (50)",
        "input: approval.beforeSteps[0]: 100 is not a step of the plan [50, 40]",
    ]
    assert found.lines("warning") == ["input: the checks below ran on the input without the fields refused above"]


def test_an_input_without_its_targets_or_route_is_not_read_further() -> None:
    found = Findings()
    assert read_input({"listenerArn": LISTENER, "stable": "serviceB"}, found) is None
    assert found.lines("problem") == ["input: canary: Field required"]
    assert read_input(["not", "an", "object"], Findings()) is None


def test_drop_removes_the_value_or_the_nearest_one_above_it() -> None:
    value = {"healthGate": {"metrics": [{"id": "a"}, {"id": "b"}]}, "steps": [1]}
    assert drop(value, ("healthGate", "metrics", 0, "threshold"))  # missing: its metric goes
    assert value == {"healthGate": {"metrics": [{"id": "b"}]}, "steps": [1]}
    assert drop(value, ("steps",)) and value == {"healthGate": {"metrics": [{"id": "b"}]}}
    assert not drop(value, ("canary",))


def test_the_real_runs_calls_name_the_routes_own_arns() -> None:
    calls = real_run_calls(parse_spec(ALB_SHIFT), alb_world(), stack())
    table = "arn:aws:dynamodb:us-west-2:123456789012:table/locks"
    assert calls["ShiftTrafficFunction"] == {
        "*": ["elasticloadbalancing:DescribeRules"],
        RULE: ["elasticloadbalancing:ModifyRule"],
        table: ["dynamodb:GetItem"],
    }
    assert calls["AcquireRouteLockFunction"] == {table: ["dynamodb:PutItem"]}
    assert calls["FinishRolloutFunction"] == {
        table: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        TOPIC: ["sns:Publish"],
    }
    assert calls["RequestApprovalFunction"] == {TOPIC: ["sns:Publish"]}
    assert calls["CanaryHealthFunction"] == {"*": ["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"]}
    stable_group = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/serviceB/1"
    assert calls["FinalizeCanaryFunction"][stable_group] == ["elasticloadbalancing:DeleteTargetGroup"]
    assert "RegisterReleaseFunction" not in calls  # no release asked


def test_finalize_and_release_calls_only_when_the_run_gets_there() -> None:
    world = alb_world()
    world.finalize_ends = False
    world.release = {"pending": True, "cluster": "apps", "service": "serviceBv2"}
    calls = real_run_calls(parse_spec(ALB_SHIFT), world, stack())
    service = "arn:aws:ecs:us-west-2:123456789012:service/apps/serviceBv2"
    assert "FinalizeCanaryFunction" not in calls
    assert calls["UpdateServiceFunction"] == {service: ["ecs:DescribeServices", "ecs:UpdateService"]}
    assert calls["RegisterReleaseFunction"]["*"] == ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]


class Iam:
    """SimulatePrincipalPolicy as IAM answers it: one result per action (and resource), in pages of `page`;
    `denied` actions get implicitDeny; `refuse` makes every call AccessDenied."""

    def __init__(self, denied: tuple[str, ...] = (), page: int = 2, refuse: bool = False) -> None:
        self.denied, self.page, self.refuse = denied, page, refuse
        self.requests: list[dict[str, Any]] = []

    def simulate_principal_policy(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        if self.refuse:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform iam:SimulatePrincipalPolicy"}}
            raise ClientError(error, "SimulatePrincipalPolicy")  # type: ignore[arg-type]
        results = [
            {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": "implicitDeny" if action in self.denied else "allowed",
            }
            for action in params["ActionNames"]
            for resource in params.get("ResourceArns", ["*"])
        ]
        start = int(params.get("Marker", 0))
        more = start + self.page < len(results)
        return {
            "EvaluationResults": results[start : start + self.page],
            "IsTruncated": more,
            **({"Marker": str(start + self.page)} if more else {}),
        }


def permissions(iam: Iam, roles: dict[str, str] | None = None) -> Findings:
    found = Findings()
    clients: Any = type("Clients", (), {"iam": iam})()
    check_permissions(parse_spec(ALB_SHIFT), alb_world(), found, clients, stack(roles))
    return found


def test_every_call_of_the_real_run_is_simulated_page_by_page() -> None:
    iam = Iam(page=2)
    found = permissions(iam)
    assert found.lines("problem") == []
    assert found.lines("ok") == ["permissions: the stack's roles allow all 15 calls the run makes"]
    first = iam.requests[0]
    assert first == {
        "PolicySourceArn": ROLES["AcquireRouteLockFunction"],
        "ActionNames": ["dynamodb:PutItem"],
        "ResourceArns": ["arn:aws:dynamodb:us-west-2:123456789012:table/locks"],
    }
    assert any("Marker" in r for r in iam.requests)  # a role and resource with more than a page of results
    assert all("ResourceArns" not in r for r in iam.requests if r["ActionNames"] == ["elasticloadbalancing:DescribeRules"])


def test_a_call_a_role_may_not_make_is_a_problem_naming_function_action_and_resource() -> None:
    found = permissions(Iam(denied=("elasticloadbalancing:ModifyRule",)))
    assert found.lines("problem") == [
        f"permissions: ShiftTrafficFunction may not elasticloadbalancing:ModifyRule on {RULE} (implicitDeny)",
        f"permissions: FinalizeCanaryFunction may not elasticloadbalancing:ModifyRule on {RULE} (implicitDeny)",
    ]


def test_a_refused_simulation_is_a_warning_and_no_roles_are_said() -> None:
    refused = permissions(Iam(refuse=True))
    assert refused.lines("problem") == []
    assert refused.lines("warning") == [
        "permissions: could not check permissions: SimulatePrincipalPolicy: AccessDenied: not authorized to perform"
        " iam:SimulatePrincipalPolicy"
    ]
    assert permissions(Iam(), roles={}).lines("warning") == [
        "permissions: not checked: the function has no STACK_ROLES (the stack's function roles)"
    ]
    partial = permissions(Iam(), roles={"ShiftTrafficFunction": ROLES["ShiftTrafficFunction"]})
    assert "permissions: FinishRolloutFunction: not checked (no role of it in STACK_ROLES)" in partial.lines("warning")


@pytest.mark.parametrize("status", ["problem", "warning", "ok"])
def test_findings_say_each_line_once(status: str) -> None:
    found = Findings()
    found.add("lock", status, "x")
    found.add("lock", status, "x")
    assert found.lines(status) == ["lock: x"]
