"""What both dry runs' tests read (tests/offline/test_dry_run.py, test_ecs_dry_run.py): a dry run's report, its
calls (every one a read) and everything a rollout could change, to compare byte for byte before and after; and a
role's statements narrowed as a stack deployed with narrower parameters has them."""

from __future__ import annotations

import json
import re
from typing import Any

from mesh_rollout_local.runner import OfflineAccount, RunResult

READ_ONLY = re.compile(r"^(Describe|Get|List|Simulate)")
# a judge metric the shipped ALB worlds publish for neither side (no 2XX counts): the "no datapoints" problem
UNPUBLISHED_SUCCESSES = {
    "id": "successes",
    "direction": "lowerIsWorse",
    "metricStat": {
        "Metric": {
            "Namespace": "AWS/ApplicationELB",
            "MetricName": "HTTPCode_Target_2XX_Count",
            "Dimensions": [{"Name": "TargetGroup", "Value": "${target}"}],
        },
        "Period": 60,
        "Stat": "Sum",
    },
}


def report_of(result: RunResult) -> dict[str, Any]:
    """The dry run's report: the execution's output, or DryRunWeightShift's result in the history (a failed one)."""
    if result.output is not None:
        return result.output  # type: ignore[no-any-return]
    succeeded = [e for e in result.history if e["type"] == "LambdaFunctionSucceeded"]
    return json.loads(succeeded[-1]["lambdaFunctionSucceededEventDetails"]["output"])  # type: ignore[no-any-return]


def read_calls(result: RunResult) -> int:
    """How many AWS calls the run's handlers made; every one must be a read (Describe*, Get*, List*, Simulate*)."""
    writes = {f"{s}:{op}": n for (s, op), n in result.api_calls.items() if not READ_ONLY.match(op)}
    assert not writes, f"the dry run made calls that are not reads: {writes}"
    return sum(result.api_calls.values())


def routes_and_locks(account: OfflineAccount) -> bytes:
    """Everything a shift could change, as the services return it: every route's and rule's action, every ECS
    service, every item of the lock table (compared byte for byte before and after a dry run)."""
    found: dict[str, Any] = {}
    appmesh, elbv2, lattice = account.client("appmesh"), account.client("elbv2"), account.client("vpc-lattice")
    for mesh in appmesh.list_meshes()["meshes"]:
        for router in appmesh.list_virtual_routers(meshName=mesh["meshName"])["virtualRouters"]:
            keys = {"meshName": mesh["meshName"], "virtualRouterName": router["virtualRouterName"]}
            for route in appmesh.list_routes(**keys)["routes"]:
                found[route["arn"]] = appmesh.describe_route(**keys, routeName=route["routeName"])["route"]["spec"]
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
            found[listener["ListenerArn"]] = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    for service in lattice.list_services()["items"]:
        for listener in lattice.list_listeners(serviceIdentifier=service["id"])["items"]:
            keys = {"serviceIdentifier": service["id"], "listenerIdentifier": listener["id"]}
            found[listener["arn"]] = lattice.get_listener(**keys)["defaultAction"]
            for rule in lattice.list_rules(**keys)["items"]:
                found[rule["arn"]] = lattice.get_rule(**keys, ruleIdentifier=rule["id"]).get("action")
    ecs = account.client("ecs")
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        for service in ecs.describe_services(cluster=cluster, services=arns)["services"] if arns else []:
            found[service["serviceArn"]] = {k: service.get(k) for k in ("desiredCount", "taskDefinition", "loadBalancers")}
    table = account.environment("DryRunWeightShiftFunction")["ROUTE_LOCK_TABLE"]
    found["locks"] = sorted(account.client("dynamodb").scan(TableName=table)["Items"], key=json.dumps)
    return json.dumps(found, sort_keys=True, default=str).encode()


def every_problem_in_one_plan(result: RunResult, expected: list[str], first_states: list[str]) -> dict[str, Any]:
    """Then (both dry runs): the execution failed DryRunFoundProblems after `first_states`, having only read, and its
    report's problems begin as `expected` (in order, no more), each in the cause, which marks exactly those as
    PROBLEM. The report, for what the caller checks further."""
    report = report_of(result)
    assert (result.status, result.error, report["ready"]) == ("FAILED", "DryRunFoundProblems", False)
    assert [p[: len(e)] for p, e in zip(report["problems"], expected, strict=True)] == expected, report["text"]
    assert sum(line.startswith("  PROBLEM") for line in (result.cause or "").splitlines()) == len(expected)
    for problem in report["problems"]:
        assert problem in (result.cause or "")
    assert result.states == [*first_states, "DryRunFoundProblems"]
    assert read_calls(result) > 0
    return report


def narrow_statements(account: OfflineAccount, role: str, change: dict[str, Any]) -> None:
    """Change the role's inline policy statements by Sid ({Sid: its new Resource, or None to drop it}), as a stack
    deployed with narrower parameters would have them."""
    iam = account.client("iam")
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        kept = []
        for statement in statements:
            if statement.get("Sid") in change:
                if change[statement["Sid"]] is None:
                    continue
                statement = {**statement, "Resource": change[statement["Sid"]]}
            kept.append(statement)
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": kept}))
