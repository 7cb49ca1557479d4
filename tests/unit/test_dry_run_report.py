"""The dry run's plain functions (shifting/dry_run.py, mesh_rollout/dry_run/): the input read past its problems,
the calls the real run would make with the route's own ARNs (and the key, role and tag permissions AWS asks with
them), the permissions asked of IAM (pages, decisions per resource in both answer shapes, a refused simulation),
the alarms and datapoints read in chunks and pages. No emulated account: IAM and CloudWatch are stubs answering as
SimulatePrincipalPolicy, DescribeAlarms and GetMetricData do."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from mesh_rollout import dry_run as shared
from mesh_rollout.dry_run import CallList
from mesh_rollout.dry_run.inputs import drop
from mesh_rollout.dry_run.reads import GateMetric
from mesh_rollout.dry_run.report import CAUSE_LIMIT, TEXT_BUDGET
from mesh_rollout.dry_run.roles import decisions
from mesh_rollout.shifting.dry_run import (
    Findings,
    Stack,
    World,
    check_permissions,
    read_input,
    real_run_calls,
)
from mesh_rollout.shifting.inputs import parse_spec

TOPIC = "arn:aws:sns:us-west-2:123456789012:mesh-rollout-NotificationTopic"
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
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
        "DeploymentHealthFunction",
        "RollbackServiceFunction",
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


def stack(roles: dict[str, str] | None = None, key: str | None = None) -> Stack:
    return Stack(lock_table="locks", topic_arn=TOPIC, roles=ROLES if roles is None else roles, key_arn=key)


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


def planned_calls(world: World, stack: Stack) -> CallList:
    """The calls of ALB_SHIFT's real run, with the route `world` read."""
    assert world.resolved is not None
    return real_run_calls(parse_spec(ALB_SHIFT), world, world.resolved, stack)


def test_the_real_runs_calls_name_the_routes_own_arns() -> None:
    calls = planned_calls(alb_world(), stack()).calls
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
    assert "DeploymentHealthFunction" not in calls and "RollbackServiceFunction" not in calls


def test_finalize_and_release_calls_only_when_the_run_gets_there() -> None:
    world = alb_world()
    world.finalize_ends = False
    world.release = {"pending": True, "cluster": "apps", "service": "serviceBv2"}
    calls = planned_calls(world, stack()).calls
    service = "arn:aws:ecs:us-west-2:123456789012:service/apps/serviceBv2"
    assert "FinalizeCanaryFunction" not in calls
    assert calls["UpdateServiceFunction"] == {service: ["ecs:DescribeServices", "ecs:UpdateService"]}
    assert calls["DeploymentHealthFunction"] == {service: ["ecs:DescribeServices"]}  # CheckRelease
    assert calls["RollbackServiceFunction"] == {service: ["ecs:DescribeServices", "ecs:UpdateService"]}  # RollbackRelease
    assert calls["RegisterReleaseFunction"]["*"] == ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]


def test_a_release_passes_the_revisions_roles_to_ecs_tasks_and_tags_it_with_the_create_action() -> None:
    world = alb_world()
    world.release = {"pending": True, "cluster": "apps", "service": "serviceBv2"}
    world.task_roles = ["arn:aws:iam::123456789012:role/ecsTaskRole"]
    world.tagged_family = "serviceBv2"
    calls = planned_calls(world, stack())
    role, revision = world.task_roles[0], "arn:aws:ecs:us-west-2:123456789012:task-definition/serviceBv2:*"
    assert calls.calls["RegisterReleaseFunction"][role] == ["iam:PassRole"]
    assert calls.calls["RegisterReleaseFunction"][revision] == ["ecs:TagResource"]
    assert calls.context[("RegisterReleaseFunction", role)] == [
        {"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["ecs-tasks.amazonaws.com"], "ContextKeyType": "string"}
    ]
    assert calls.context[("RegisterReleaseFunction", revision)] == [
        {"ContextKeyName": "ecs:CreateAction", "ContextKeyValues": ["RegisterTaskDefinition"], "ContextKeyType": "string"}
    ]
    # and the simulation is given them, with the call on that role or revision only
    iam = Iam()
    clients: Any = type("Clients", (), {"iam": iam})()
    check_permissions(parse_spec(ALB_SHIFT), world, Findings(), clients, stack())
    asked = {r["ResourceArns"][0]: r.get("ContextEntries") for r in iam.requests if "ResourceArns" in r}
    assert asked[role] == calls.context[("RegisterReleaseFunction", role)]
    assert asked[revision] == calls.context[("RegisterReleaseFunction", revision)]
    assert asked["arn:aws:dynamodb:us-west-2:123456789012:table/locks"] is None


def test_the_functions_that_write_the_table_or_publish_use_the_stacks_key() -> None:
    calls = planned_calls(alb_world(), stack(key=KEY)).calls
    using = {function for function, resources in calls.items() if KEY in resources}
    assert using == {"AcquireRouteLockFunction", "RequestApprovalFunction", "FinishRolloutFunction"}
    assert all(calls[f][KEY] == ["kms:Decrypt", "kms:GenerateDataKey"] for f in using)
    # a function that only reads the lock (the fence before a write) is not asked about the key; no key, no asking
    assert KEY not in calls["ShiftTrafficFunction"]
    assert all(KEY not in r for r in planned_calls(alb_world(), stack()).calls.values())


class Iam:
    """SimulatePrincipalPolicy as IAM answers it: one result per action, in pages of `page`, its EvalResourceName
    the ARN template (never the ARN asked about) and each resource asked about in ResourceSpecificResults
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html); `flat`: the older answer, one
    result per action and resource, EvalResourceName the ARN asked about, no ResourceSpecificResults. `denied`
    actions get implicitDeny; `refuse` makes every call AccessDenied."""

    def __init__(self, denied: tuple[str, ...] = (), page: int = 2, refuse: bool = False, flat: bool = False) -> None:
        self.denied, self.page, self.refuse, self.flat = denied, page, refuse, flat
        self.requests: list[dict[str, Any]] = []

    def simulate_principal_policy(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        if self.refuse:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform iam:SimulatePrincipalPolicy"}}
            raise ClientError(error, "SimulatePrincipalPolicy")  # type: ignore[arg-type]
        decision = {a: "implicitDeny" if a in self.denied else "allowed" for a in params["ActionNames"]}
        if self.flat:
            results = [
                {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision[action]}
                for action in params["ActionNames"]
                for resource in params.get("ResourceArns", ["*"])
            ]
        else:
            results = [
                {
                    "EvalActionName": action,
                    "EvalResourceName": "arn:${Partition}:service:${Region}:${Account}:type/${Name}",
                    "EvalDecision": decision[action],
                    **(
                        {
                            "ResourceSpecificResults": [
                                {"EvalResourceName": r, "EvalResourceDecision": decision[action]} for r in params["ResourceArns"]
                            ]
                        }
                        if "ResourceArns" in params
                        else {}
                    ),
                }
                for action in params["ActionNames"]
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


@pytest.mark.parametrize("flat", [False, True], ids=["per-action answer", "per-resource answer"])
def test_a_call_a_role_may_not_make_is_a_problem_naming_function_action_and_resource(flat: bool) -> None:
    found = permissions(Iam(denied=("elasticloadbalancing:ModifyRule",), flat=flat))
    assert found.lines("problem") == [  # the ARN asked about, never the answer's ARN template
        f"permissions: ShiftTrafficFunction may not elasticloadbalancing:ModifyRule on {RULE} (implicitDeny)",
        f"permissions: FinalizeCanaryFunction may not elasticloadbalancing:ModifyRule on {RULE} (implicitDeny)",
    ]


def test_the_decision_for_a_resource_is_its_own_and_missing_condition_keys_are_said() -> None:
    # the top level says the most restrictive decision; the resource's own answer is in ResourceSpecificResults
    answer = {
        "EvalActionName": "iam:PassRole",
        "EvalResourceName": "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
        "EvalDecision": "implicitDeny",
        "ResourceSpecificResults": [
            {"EvalResourceName": "arn:aws:iam::1:role/a", "EvalResourceDecision": "allowed"},
            {
                "EvalResourceName": "arn:aws:iam::1:role/b",
                "EvalResourceDecision": "implicitDeny",
                "MissingContextValues": ["iam:PassedToService"],
            },
        ],
    }
    assert decisions(answer, "arn:aws:iam::1:role/a") == [
        ("arn:aws:iam::1:role/a", "allowed", []),
        ("arn:aws:iam::1:role/b", "implicitDeny", ["iam:PassedToService"]),
    ]
    without = {"EvalActionName": "cloudwatch:GetMetricData", "EvalResourceName": "*", "EvalDecision": "explicitDeny"}
    assert decisions(without, "*") == [("*", "explicitDeny", [])]


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


class CloudWatch:
    """DescribeAlarms and GetMetricData as CloudWatch answers them, each name or query once per call: at most 100
    AlarmNames and 500 MetricDataQueries a call (more is refused), a page of `page` alarms or results per call."""

    def __init__(self, page: int = 2) -> None:
        self.page = page
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, operation: str) -> Any:
        stub = self

        class Paginator:
            def paginate(self, **params: Any) -> Any:
                stub.calls.append((operation, params))
                if operation == "describe_alarms":
                    assert len(params["AlarmNames"]) <= 100
                    items = [{"AlarmName": n, "StateValue": "OK"} for n in params["AlarmNames"]]
                    key = "MetricAlarms"
                else:
                    assert len(params["MetricDataQueries"]) <= 500
                    items = [{"Id": q["Id"], "Values": [1.0]} for q in params["MetricDataQueries"]]
                    key = "MetricDataResults"
                for start in range(0, len(items), stub.page):  # the pages the NextToken leads to
                    yield {key: items[start : start + stub.page]}

        return Paginator()


def test_more_than_100_alarms_are_read_100_names_a_call_every_page() -> None:
    cloudwatch, found = CloudWatch(), Findings()
    named = [(f"healthGate.alarmNames[{i}]", f"alarm-{i}") for i in range(250)]
    shared.check_alarms(named, found, cloudwatch)
    assert [len(params["AlarmNames"]) for _, params in cloudwatch.calls] == [100, 100, 50]
    assert found.lines("problem") == [] and len(found.lines("ok")) == 250


def test_more_than_500_queries_are_asked_500_a_call_over_at_least_each_metrics_period() -> None:
    cloudwatch, found = CloudWatch(page=7), Findings()

    def metric(index: int, period: int) -> GateMetric:
        stat = {"Metric": {"Namespace": "N", "MetricName": f"m{index}"}, "Period": period, "Stat": "Sum"}
        return (f"metric m{index}", "canary", {"id": f"m{index}", "metricStat": stat}, "missing")

    metrics = [metric(i, 60) for i in range(600)] + [metric(600, 3600)]
    shared.check_datapoints(metrics, 300, found, cloudwatch)
    windows = [(p["EndTime"] - p["StartTime"]).total_seconds() for _, p in cloudwatch.calls]
    assert [len(p["MetricDataQueries"]) for _, p in cloudwatch.calls] == [500, 100, 1]
    assert windows == [300, 300, 3600]  # an hourly metric is looked for over an hour, not the 5 minutes
    assert found.lines("problem") == []
    assert "metrics: metric m600 (canary): 1 datapoint in the last 3600 s" in found.lines("ok")


@pytest.mark.parametrize("status", ["problem", "warning", "ok"])
def test_findings_say_each_line_once(status: str) -> None:
    found = Findings()
    found.add("lock", status, "x")
    found.add("lock", status, "x")
    assert found.lines(status) == ["lock: x"]


def test_the_text_of_a_report_of_many_checks_stays_under_the_fail_causes_limit_with_every_problem_and_warning() -> None:
    """The text is DryRunFoundProblems' cause (at most 32768 characters): ok lines past the budget are summarised,
    every problem and warning stays."""
    found = Findings()
    for index in range(2000):
        found.add("metrics", shared.OK, f"metric m{index} (canary): 5 datapoints in the last 300 s " + "x" * 40)
        if index % 100 == 0:
            found.add("alarms", shared.PROBLEM, f"alarm-{index} is in ALARM now")
            found.add("alarms", shared.WARNING, f"alarm-w{index} is INSUFFICIENT_DATA")
    text = shared.report_text(["Dry run of the weight shift: NOT READY"], found.checks)
    assert len(text) <= TEXT_BUDGET < CAUSE_LIMIT
    assert all(
        f"{line}\n" in text + "\n" for line in (f"  PROBLEM  alarms: alarm-{i} is in ALARM now" for i in range(0, 2000, 100))
    )
    assert all(f"alarm-w{i} is INSUFFICIENT_DATA" in text for i in range(0, 2000, 100))
    assert "  ok       metrics: metric m0 (canary)" in text
    shown = text.count("  ok       metrics:")
    assert 0 < shown < 2000
    assert text.endswith(f"  ok       and {2000 - shown} more ok checks (the report's checks list each)")
    # a short report is whole
    assert shared.report_text(["head"], found.checks[:3]).count("\n") == 4


def test_problems_alone_past_the_budget_are_cut_saying_so() -> None:
    found = Findings()
    for index in range(1000):
        found.add("alarms", shared.PROBLEM, f"alarm-{index} does not exist " + "y" * 60)
    text = shared.report_text(["head"], found.checks)
    assert len(text) == TEXT_BUDGET
    assert text.endswith("the report's problems and warnings list each")
