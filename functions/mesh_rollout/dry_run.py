"""What every dry run shares (issue 23 item 1): the check record and the report, the input read past its problems,
the alarms' states, the datapoints of a metric query, the lock's holder, the approval topic's confirmed subscriptions
and the stack's roles asked of IAM (iam:SimulatePrincipalPolicy). The weight shift's (shifting/dry_run.py) and the
ECS deployment's (deploying/dry_run.py) call these with what their own plan builds; nothing here writes.

Each check is {"check", "status": ok | problem | warning, "detail"}; a report is ready when no check is a problem.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict

from pydantic import BaseModel, ValidationError

from mesh_rollout import clock
from mesh_rollout.aws import aws_errors, client
from mesh_rollout.aws.ecs import describe_service, describe_task_definition
from mesh_rollout.errors import AwsRequestRejected, InvalidRolloutInput, MeshResourceNotFound, TransientAwsError
from mesh_rollout.parsing import problems_of
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.gate import metric_value, queried

MIN_WINDOW_SECONDS = 300  # datapoints are looked for over the bake, and at least the last 5 minutes
# DescribeAlarms takes at most 100 AlarmNames (botocore's model: AlarmNames max 100); GetMetricData at most 500
# metrics per request ("can retrieve as many as 500 different metrics in a single request",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html)
ALARM_NAMES_PER_CALL, QUERIES_PER_CALL = 100, 500
OK, PROBLEM, WARNING = "ok", "problem", "warning"
# the report's text is the Fail's cause (DryRunFoundProblems, CausePath $.dryRun.text), which Step Functions holds to
# 32768 characters (ExecutionFailedEventDetails cause, https://docs.aws.amazon.com/step-functions/latest/apireference/
# API_ExecutionFailedEventDetails.html; botocore's SensitiveCause max 32768): the text stays under it, with room
CAUSE_LIMIT = 32768
TEXT_BUDGET, SUMMARY_ROOM = 30000, 200
MARKS = {OK: "ok     ", PROBLEM: "PROBLEM", WARNING: "warning"}
# SNS lists a subscription its endpoint has not confirmed yet with this SubscriptionArn (ListSubscriptionsByTopic,
# https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html)
PENDING_CONFIRMATION = "PendingConfirmation"
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


class DryRunCheck(TypedDict):
    check: str
    status: str  # ok, problem or warning
    detail: str


@dataclass(frozen=True)
class Clients:
    cloudwatch: Any
    ecs: Any
    dynamodb: Any
    sns: Any
    iam: Any


@dataclass(frozen=True)
class Stack:
    """Where the real run's own calls go: the lock table, the notification topic (its ARN gives the partition,
    Region and account), the functions' roles ({logical id: role ARN}), the ECS clusters it may act in and the
    stack's KMS key that encrypts the table and the topic (None: its use is not checked)."""

    lock_table: str
    topic_arn: str
    roles: dict[str, str] | None = None
    clusters: str = "*"
    key_arn: str | None = None

    def arn(self, service: str, resource: str) -> str:
        partition, _, region, account = self.topic_arn.split(":")[1:5]
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def stack_from_env() -> Stack:
    """The dry-run function's settings (template.yaml), read and checked when its handler starts."""
    roles = json.loads(os.environ.get("STACK_ROLES") or "{}")  # {function logical id: role ARN}
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise ValueError(f"STACK_ROLES is not an object of role ARNs: {roles!r}")
    return Stack(
        lock_table=os.environ["ROUTE_LOCK_TABLE"],
        topic_arn=os.environ["NOTIFICATION_TOPIC_ARN"],
        roles=roles,
        clusters=os.environ.get("ECS_CLUSTERS", "*"),
        key_arn=os.environ.get("KMS_KEY_ARN") or None,  # the key of the table and the topic (MeshRolloutKey)
    )


def aws_clients() -> Clients:
    return Clients(client("cloudwatch"), client("ecs"), client("dynamodb"), client("sns"), client("iam"))


def revision_to_register(ecs: Any, task_definition: str) -> tuple[list[str], str | None]:
    """What registering the revision `task_definition` again needs (RegisterRelease's find_or_register: with its
    task and execution roles, and its tags): those roles, and its family when it has tags (else None)."""
    current, tags = describe_task_definition(ecs, task_definition)
    roles = sorted({str(current[k]) for k in ("taskRoleArn", "executionRoleArn") if current.get(k)})
    return roles, (str(current["family"]) if tags else None)


@dataclass
class Findings:
    """The checks, in the order they ran; a line is said once."""

    checks: list[DryRunCheck] = field(default_factory=list)

    def add(self, check: str, status: str, detail: str) -> None:
        item: DryRunCheck = {"check": check, "status": status, "detail": detail}
        if item not in self.checks:
            self.checks.append(item)

    def lines(self, status: str) -> list[str]:
        return [f"{c['check']}: {c['detail']}" for c in self.checks if c["status"] == status]

    def has_problem(self, check: str) -> bool:
        return any(c["check"] == check and c["status"] == PROBLEM for c in self.checks)

    @contextmanager
    def catching(self, check: str, prefix: str = "") -> Iterator[None]:
        """A named error of the block is a problem of `check`, and the dry run goes on; a transient one is not
        caught (the state machine retries the task, as it retries the plan)."""
        try:
            yield
        except InvalidRolloutInput as exc:
            for where, problem in exc.problems:
                self.add(check, PROBLEM, f"{prefix}{where}: {problem}")
        except (AwsRequestRejected, MeshResourceNotFound) as exc:
            self.add(check, PROBLEM, f"{prefix}could not read: {exc}")


def verdict(what: str, problems: list[str], warnings: list[str]) -> str:
    """The plan's first line."""
    count = len(problems)
    said = "READY" if not problems else f"NOT READY: {count} problem{'s' if count != 1 else ''}"
    return f"Dry run of {what}: {said}, {len(warnings)} warning{'s' if len(warnings) != 1 else ''}; nothing was changed"


def report_text(head: list[str], checks: list[DryRunCheck]) -> str:
    """The plan a person reads, and the Fail's cause when it is not ready: `head`, then every check marked, within
    TEXT_BUDGET. Every problem and warning line is kept; ok lines past the budget are said in one line (the report's
    `checks` hold them all); if what is kept is still too long, the text is cut at the budget, saying so."""
    marked = [(c["status"], f"  {MARKS[c['status']]}  {c['check']}: {c['detail']}") for c in checks]
    lines = [*head, "checks:"]
    used = sum(len(line) + 1 for line in lines) + sum(len(line) + 1 for status, line in marked if status != OK)
    used += SUMMARY_ROOM
    left_out = 0
    for status, line in marked:
        if status != OK:
            lines.append(line)
        elif used + len(line) + 1 <= TEXT_BUDGET:
            lines.append(line)
            used += len(line) + 1
        else:
            left_out += 1
    if left_out:
        lines.append(f"  {MARKS[OK]}  and {left_out} more ok check{'s' if left_out != 1 else ''} (the report's checks list each)")
    text = "\n".join(lines)
    if len(text) <= TEXT_BUDGET:
        return text
    cut = f"\n... cut at {TEXT_BUDGET} characters: the report's problems and warnings list each"
    return text[: TEXT_BUDGET - len(cut)] + cut


# --- the input ---------------------------------------------------------------------------------------------------


def read_input(
    raw: Any, found: Findings, model: type[BaseModel], parse: Callable[[Any], Any], check: Callable[[Any], None]
) -> Any:
    """The input as the real run reads it (`parse`); if it has problems, each is one, and the dry run goes on with
    the input without the fields refused (None if what is left is not a `model`): its shape, then `check`, the rules
    between its fields, on what is left."""
    try:
        spec = parse(raw)
    except InvalidRolloutInput as exc:
        for where, problem in exc.problems:
            found.add("input", PROBLEM, f"{where}: {problem}")
    else:
        found.add("input", OK, "the input's form and the rules between its fields")
        return spec
    if not isinstance(raw, dict):
        return None
    trimmed = copy.deepcopy(raw)
    for _ in range(50):
        try:
            spec = model.model_validate(trimmed)
        except ValidationError as exc:
            if not any(drop(trimmed, location) for location, _ in problems_of(exc, model, trimmed)):
                return None
            continue
        with found.catching("input"):  # the rules between fields, on what is left
            check(spec)
        found.add("input", WARNING, "the checks below ran on the input without the fields refused above")
        return spec
    return None


def drop(value: Any, location: tuple[Any, ...]) -> bool:
    """Remove the value at `location` (else the nearest one above it); False if nothing could be removed."""
    for end in range(len(location), 0, -1):
        parent, key = value, location[end - 1]
        for part in location[: end - 1]:
            parent = parent[part] if isinstance(parent, dict | list) else None
        if isinstance(parent, dict) and key in parent:
            del parent[key]
            return True
        if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
            parent.pop(key)
            return True
    return False


# --- ECS services, alarms and metrics ------------------------------------------------------------------------------


def check_service(ecs: Any, label: str, cluster: str, name: str, what: str, found: Findings) -> dict[str, Any] | None:
    """The ECS service `cluster/name` (DescribeServices) and its tasks; None when it cannot be read (a problem)."""
    try:
        described = describe_service(ecs, cluster, name, what)
    except InvalidRolloutInput as exc:
        found.add("ECS services", PROBLEM, str(exc))
        return None
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("ECS services", PROBLEM, f"{what}: could not read {label}: {exc}")
        return None
    check_tasks(label, what, described, found)
    return described


def check_tasks(label: str, what: str, described: dict[str, Any], found: Findings) -> None:
    """Running against desired: none running where traffic goes is a problem; fewer than desired keeps the gate
    waiting (PENDING)."""
    running, desired = int(described.get("runningCount", 0)), int(described.get("desiredCount", 0))
    detail = f"{what}: {label} runs {running} of {desired} tasks"
    if running == 0 and (desired > 0 or what in ("canary", "canaryEcsService")):
        found.add("ECS services", PROBLEM, detail + ": traffic sent to it would find no task")
    elif running < desired:
        found.add("ECS services", WARNING, detail + " (the gate waits while fewer run than it wants)")
    else:
        found.add("ECS services", OK, detail)


def check_alarms(named: list[tuple[str, str]], found: Findings, cloudwatch: Any) -> None:
    """Each alarm (where it is named, its name) exists, and is not in ALARM now (the first gate would fail)."""
    if not named:
        return
    names = list(dict.fromkeys(name for _, name in named))
    alarms: dict[str, dict[str, Any]] = {}
    try:
        with aws_errors("DescribeAlarms"):
            for start in range(0, len(names), ALARM_NAMES_PER_CALL):  # at most 100 names a call, each page read
                chunk = names[start : start + ALARM_NAMES_PER_CALL]
                pages = cloudwatch.get_paginator("describe_alarms").paginate(
                    AlarmNames=chunk, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                )
                for page in pages:
                    alarms |= {a["AlarmName"]: a for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])}
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("alarms", PROBLEM, f"could not read the alarms: {exc}")
        return
    for where, name in named:
        alarm = alarms.get(name)
        if alarm is None:
            found.add("alarms", PROBLEM, f"{where}: CloudWatch alarm {name!r} does not exist")
        elif alarm["StateValue"] == "ALARM":
            found.add("alarms", PROBLEM, f"{name} is in ALARM now: the first gate would fail ({alarm.get('StateReason', '')})")
        elif alarm["StateValue"] == "INSUFFICIENT_DATA":
            found.add("alarms", WARNING, f"{name} is INSUFFICIENT_DATA: it watches nothing yet (the gate passes it)")
        else:
            found.add("alarms", OK, f"{name} {alarm['StateValue']}")


# (label, side, metric, when missing): a metric the gate or the judge reads, as its plan builds it; `when missing`
# is what no data does there (the gate's treatMissingData, the judge's whenNoData)
GateMetric = tuple[str, str, dict[str, Any], str]


def metrics_of(gate: dict[str, Any], without: str | None = None) -> list[GateMetric]:
    """Every metric a planned gate reads: its `metrics` (the canary's), and each `compare` metric for both sides
    (but `without`, a side the route does not forward to)."""
    found: list[GateMetric] = []
    for metric in gate["metrics"]:
        found.append((f"metric {metric['id']}", "canary", metric, metric.get("treatMissingData", "missing")))
    compare = gate.get("compare") or {}
    for metric in compare.get("metrics", []):
        for side in [s for s in ("canary", "stable") if s != without]:
            entry = {"id": metric["id"], **metric[side], "comparisonOperator": "GreaterThanThreshold"}
            found.append((f"judge metric {metric['id']}", side, entry, compare.get("whenNoData", "fail")))
    return found


def check_datapoints(
    metrics: list[GateMetric], window: int, found: Findings, cloudwatch: Any, no_traffic: dict[str, str] | None = None
) -> None:
    """Datapoints in the last `window` seconds (at least the metric's own Period: a shorter window holds no whole
    period) for every metric, as the gate counts them (gate.metric_value: a ratio needs its divisor, a Sum numerator
    with none is 0). None where the gate would wait in no data is a problem, unless no data passes there, or the side
    cannot have traffic yet (`no_traffic`: {side: why}, a warning)."""
    if not metrics:
        return
    keys, windows = [], []
    by_window: dict[int, list[dict[str, Any]]] = {}  # the queries of each window, asked over it
    for index, (_, _, metric, _) in enumerate(metrics):
        key = f"q{index}"
        stats = [metric["metricStat"], *([metric["divideBy"]] if metric.get("divideBy") else [])]
        own = max([window, *(int(stat.get("Period", 0)) for stat in stats)])
        keys.append(key)
        windows.append(own)
        queries = by_window.setdefault(own, [])
        queries.append({"Id": key, "MetricStat": metric["metricStat"], "ReturnData": True})
        if metric.get("divideBy"):
            queries.append({"Id": f"{key}_divisor", "MetricStat": metric["divideBy"], "ReturnData": True})
    try:
        results = metric_data(cloudwatch, by_window)
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("metrics", PROBLEM, f"could not read the metrics: {exc}")
        return
    for key, seconds, (label, side, metric, missing) in zip(keys, windows, metrics, strict=True):
        value = metric_value({**metric, "id": key}, results)
        points = len(results.get(f"{key}_divisor" if metric.get("divideBy") else key, []))
        what = f"{label} ({side})"
        if value is not None:
            found.add("metrics", OK, f"{what}: {points} datapoint{'s' if points != 1 else ''} in the last {seconds} s")
            continue
        detail = f"{what}: no datapoints in the last {seconds} s for {queried(metric)}"
        if missing in ("notBreaching", "pass"):
            found.add("metrics", WARNING, f"{detail} (the {'gate' if missing == 'notBreaching' else 'judge'} passes it)")
        elif side in (no_traffic or {}):
            found.add("metrics", WARNING, f"{detail} ({(no_traffic or {})[side]})")
        else:
            found.add("metrics", PROBLEM, f"{detail}: the gate would wait in no data, then fail")


def metric_data(cloudwatch: Any, by_window: dict[int, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """{query id: its values}: each window's queries over the last that many seconds, at most 500 queries a call,
    every page (NextToken) read."""
    now = clock.now()
    results: dict[str, list[float]] = {}
    with aws_errors("GetMetricData"):
        for seconds, queries in by_window.items():
            for start in range(0, len(queries), QUERIES_PER_CALL):
                pages = cloudwatch.get_paginator("get_metric_data").paginate(
                    MetricDataQueries=queries[start : start + QUERIES_PER_CALL],
                    StartTime=now - dt.timedelta(seconds=seconds),
                    EndTime=now,
                )
                for page in pages:
                    for result in page["MetricDataResults"]:
                        results.setdefault(result["Id"], []).extend(result.get("Values", []))
    return results


# --- the lock, the approval topic -----------------------------------------------------------------------------------


def check_lock(lock_id: str, when_locked: str, found: Findings, clients: Clients, stack: Stack) -> bool:
    """Free, or held by an execution whose lock has not expired (an expired one is taken over by the next run).
    False when the lock could not be read (a problem)."""
    try:
        held = lock.holder(clients.dynamodb, stack.lock_table, lock_id)
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("lock", PROBLEM, f"could not read lock {lock_id}: {exc}")
        return False
    now = int(clock.now().timestamp())
    if held is None or held["expiresAt"] < now:
        found.add("lock", OK, f"{lock_id} is free" + (f" (expired hold by {held['owner']})" if held else ""))
        return True
    until = dt.datetime.fromtimestamp(held["expiresAt"], dt.UTC).isoformat()
    detail = f"{lock_id} is held by {held['owner']} until {until}"
    if when_locked == "skip":
        found.add("lock", WARNING, detail + ": the run would skip (whenLocked skip)")
    else:
        found.add("lock", PROBLEM, detail + ": the run would fail RolloutInProgress")
    return True


def check_subscription(before_steps: list[Any], found: Findings, sns: Any, topic_arn: str) -> None:
    """Someone confirmed on the approval topic (else a request reaches nobody: a warning, the wait still shows)."""
    subscriptions: list[dict[str, Any]] = []
    try:
        with aws_errors("ListSubscriptionsByTopic"):
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
                subscriptions += page.get("Subscriptions", [])
    except (AwsRequestRejected, MeshResourceNotFound) as exc:
        found.add("approval", WARNING, f"could not list the topic's subscriptions: {exc}")
        return
    confirmed = [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]
    pending = sum(1 for s in subscriptions if s.get("SubscriptionArn") == PENDING_CONFIRMATION)
    steps = ", ".join(f"{p}%" for p in before_steps)
    if confirmed:
        who = ", ".join(f"{s.get('Protocol')}:{s.get('Endpoint')}" for s in confirmed)
        found.add("approval", OK, f"approval before {steps}: requests go to {who}")
    else:
        found.add(
            "approval",
            WARNING,
            f"approval before {steps}: no confirmed subscription on {topic_arn}"
            + (f" ({pending} pending confirmation)" if pending else "")
            + "; `mesh-rollout status` and `start --follow` still show the wait",
        )


# --- the stack's roles ----------------------------------------------------------------------------------------------


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
