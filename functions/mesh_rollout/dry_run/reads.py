"""What the dry run reads of the world, read-only: the ECS services and their tasks, the alarms' states, the
datapoints of the gate's metric queries, the lock's holder and the approval topic's confirmed subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mesh_rollout import clock
from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import describe_service
from mesh_rollout.dry_run.report import OK, PROBLEM, WARNING, Findings
from mesh_rollout.dry_run.settings import Clients, Stack
from mesh_rollout.errors import AwsRequestRejected, InvalidRolloutInput, MeshResourceNotFound
from mesh_rollout.shifting import lock
from mesh_rollout.shifting.gate import metric_value, queried

MIN_WINDOW_SECONDS = 300  # datapoints are looked for over the bake, and at least the last 5 minutes
# DescribeAlarms takes at most 100 AlarmNames (botocore's model: AlarmNames max 100); GetMetricData at most 500
# metrics per request ("can retrieve as many as 500 different metrics in a single request",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html)
ALARM_NAMES_PER_CALL, QUERIES_PER_CALL = 100, 500
# SNS lists a subscription its endpoint has not confirmed yet with this SubscriptionArn (ListSubscriptionsByTopic,
# https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html)
PENDING_CONFIRMATION = "PendingConfirmation"


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
