"""The stack's roles asked of IAM: the calls the real run would make (CallList), each role's simulation
(iam:SimulatePrincipalPolicy) and its decisions, and what registering a revision again needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import describe_task_definition
from mesh_rollout.dry_run.report import OK, PROBLEM, WARNING, Findings
from mesh_rollout.dry_run.settings import Stack
from mesh_rollout.errors import AwsRequestRejected, MeshResourceNotFound, TransientAwsError

# IAM's EvalDecision (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)
ALLOWED = "allowed"
# what the key behind the lock table and the topic must allow a writer: publishing to a topic encrypted with a
# customer managed key needs kms:GenerateDataKey and kms:Decrypt on it (Amazon SNS developer guide, key management,
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html); so do the lock table's writes (DynamoDB
# encryption at rest with a customer managed key, https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html)
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
TABLE_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
# RegisterRelease registers a revision again: its task and execution roles are passed to ECS tasks
TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"


def revision_to_register(ecs: Any, task_definition: str) -> tuple[list[str], str | None]:
    """What registering the revision `task_definition` again needs (RegisterRelease's find_or_register: with its
    task and execution roles, and its tags): those roles, and its family when it has tags (else None)."""
    current, tags = describe_task_definition(ecs, task_definition)
    roles = sorted({str(current[k]) for k in ("taskRoleArn", "executionRoleArn") if current.get(k)})
    return roles, (str(current["family"]) if tags else None)


class CallList:
    """{function logical id: {resource ARN ("*": none): [IAM actions]}}, each said once."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.table_arn = stack.arn("dynamodb", f"table/{stack.lock_table}")
        self.calls: dict[str, dict[str, list[str]]] = {}
        # (function, resource) -> the condition keys the call carries (SimulatePrincipalPolicy's ContextEntries:
        # a condition whose key is not given is not evaluated as met)
        self.context: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def pass_role(self, function: str, role: str, to_service: str) -> None:
        """iam:PassRole of `role` to `to_service`, as AWS asks it with the call that sends the role."""
        self.add(function, role, "iam:PassRole")
        self.given(function, role, "iam:PassedToService", to_service)

    def tag_revision(self, function: str, family: str) -> None:
        """ecs:TagResource on the new revision of `family`, as AWS asks it when RegisterTaskDefinition is given tags
        (with ecs:CreateAction RegisterTaskDefinition; "Actions, resources, and condition keys for Amazon ECS",
        https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html):
        its revision is not known yet, any of the family's."""
        revision = self.stack.arn("ecs", f"task-definition/{family}:*")
        self.add(function, revision, "ecs:TagResource")
        self.given(function, revision, "ecs:CreateAction", "RegisterTaskDefinition")

    def register_release(self, service_arn: str, task_roles: list[str], tagged_family: str | None) -> None:
        """RegisterRelease: the service's revision read and registered again with the release's images, its roles
        passed to ECS tasks and, when it has tags, the new revision tagged."""
        self.add("RegisterReleaseFunction", service_arn, "ecs:DescribeServices")
        self.add("RegisterReleaseFunction", "*", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition")
        for role in task_roles:
            self.pass_role("RegisterReleaseFunction", role, TASKS_PRINCIPAL)
        if tagged_family:
            self.tag_revision("RegisterReleaseFunction", tagged_family)

    def health_gate(self, function: str, gate: Any, service_arn: Callable[[str, str], str]) -> None:
        """What a health gate's verdict reads (gate.health_verdict): its alarms, its metrics (the presets and the
        judge's too) and its ECS services (`service_arn(cluster, service)`)."""
        if gate.alarmNames:
            self.add(function, "*", "cloudwatch:DescribeAlarms")
        if gate.metrics or gate.maxErrorRate is not None or gate.maxLatencyMs or gate.compare:
            self.add(function, "*", "cloudwatch:GetMetricData")
        for ref in gate.ecsServices:
            self.add(function, service_arn(ref.cluster, ref.service), "ecs:DescribeServices")

    def table(self, function: str, *actions: str) -> None:
        """Item calls on the lock table; a write also uses the stack's key (KEY_ACTIONS)."""
        self.add(function, self.table_arn, *actions)
        if TABLE_WRITES.intersection(actions):
            self.use_key(function)

    def publish(self, function: str) -> None:
        """sns:Publish to the stack's topic, which its key encrypts (KEY_ACTIONS)."""
        self.add(function, self.stack.topic_arn, "sns:Publish")
        self.use_key(function)

    def use_key(self, function: str) -> None:
        if self.stack.key_arn:
            self.add(function, self.stack.key_arn, *KEY_ACTIONS)

    def given(self, function: str, resource: str, key: str, value: str) -> None:
        """The condition key `key` is `value` in the calls of `function` on `resource`."""
        entries = self.context.setdefault((function, resource), [])
        entry = {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
        if entry not in entries:
            entries.append(entry)

    def add(self, function: str, resource: str, *actions: str) -> None:
        for action in actions:
            listed = self.calls.setdefault(function, {}).setdefault(resource, [])
            if action not in listed:
                listed.append(action)


def check_roles(
    calls: dict[str, dict[str, list[str]]],
    found: Findings,
    iam: Any,
    stack: Stack,
    context: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
) -> None:
    """Whether each function's role may make each call the real run makes (iam:SimulatePrincipalPolicy, one call
    per role and resource: the simulation evaluates every action named against every resource named,
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html)."""
    if not stack.roles:
        found.add("permissions", WARNING, "not checked: the function has no STACK_ROLES (the stack's function roles)")
        return
    checked = 0
    for function, resources in calls.items():
        role = stack.roles.get(function)
        if role is None:
            found.add("permissions", WARNING, f"{function}: not checked (no role of it in STACK_ROLES)")
            continue
        for resource, actions in resources.items():
            params: dict[str, Any] = {"PolicySourceArn": role, "ActionNames": actions}
            if resource != "*":
                params["ResourceArns"] = [resource]
            if (context or {}).get((function, resource)):
                params["ContextEntries"] = (context or {})[(function, resource)]
            try:
                results = simulate(iam, params)
            except (AwsRequestRejected, MeshResourceNotFound, TransientAwsError) as exc:
                # the dry run's own role may not simulate, or IAM throttles (its simulation quota is small): the
                # rest of the report still stands, and says what was not checked
                found.add("permissions", WARNING, f"could not check permissions: {exc}")
                return
            for result in results:
                for where, decision, missing in decisions(result, resource):
                    checked += 1
                    if decision != ALLOWED:
                        unknown = f"; no value given for {', '.join(missing)}" if missing else ""
                        found.add(
                            "permissions",
                            PROBLEM,
                            f"{function} may not {result['EvalActionName']} on {where} ({decision}{unknown})",
                        )
    if checked and not found.has_problem("permissions"):
        found.add("permissions", OK, f"the stack's roles allow all {checked} calls the run makes")


def decisions(result: dict[str, Any], asked: str) -> list[tuple[str, str, list[str]]]:
    """(resource, decision, missing context keys) of one EvaluationResult: each ResourceSpecificResults entry's
    EvalResourceName and EvalResourceDecision when there are some, else the top-level EvalDecision for the ARN the
    call asked about. The top-level EvalResourceName is the ARN *template* of the action's resource type, or "*",
    never the ARN asked about (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)."""
    specific = result.get("ResourceSpecificResults") or []
    if specific:
        return [
            (str(r.get("EvalResourceName") or asked), str(r["EvalResourceDecision"]), list(r.get("MissingContextValues") or []))
            for r in specific
        ]
    return [(asked, str(result["EvalDecision"]), list(result.get("MissingContextValues") or []))]


def simulate(iam: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every EvaluationResult of one simulation, page after page (Marker / IsTruncated)."""
    results: list[dict[str, Any]] = []
    with aws_errors("SimulatePrincipalPolicy"):
        while True:
            response = iam.simulate_principal_policy(**params)
            results += response.get("EvaluationResults", [])
            if not response.get("IsTruncated"):
                return results
            params = {**params, "Marker": response["Marker"]}
