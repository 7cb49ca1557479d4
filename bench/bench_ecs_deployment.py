"""Benchmark of the ECS-native deployment (EcsDeploymentStateMachine, issue 22 item 6): a five-step LINEAR deployment
with 10-minute bakes (stepPercent 20, stepBakeTimeInMinutes 10, bakeTimeInMinutes 10) on the ALB world
(events/local/ecs-deployment-alb-given.json, input events/ecs-deployment-alb.json with that strategy; its approval
before 100 % is answered at once), run offline. Counted from the execution history and the recorded calls: state
transitions per step and per deployment, Lambda invocations per function, our handlers' AWS calls per step (which
of them read ECS), and the cost at list prices, beside ECS alone (ECS's own LINEAR deployment: no transitions, no
invocations, no charge of ours).

Two sets of numbers, named as such in the output:
  measured offline: the emulated ECS runs on a scaled clock (emulator/ecs_deployments.py MINUTE_SECONDS) while the
    runner's Wait states return at once, so ReadDeployment finds ECS still baking and polls several times a step;
  on AWS (the ASL path): each Wait is sized to ECS's bake for the step (+ settle), so one Wait and one read per step;
    computed from the offline path with the extra poll cycles (Wait, read, Choice while ECS is still RUNNING) of
    each step taken out; the judge's own re-checks (WaitToRecheck) are kept as measured.

List prices (us-east-1, as published on the AWS pricing pages, noted 2026-12-06 from the pages as last read; not
re-checked offline: check them before relying on the totals):
  Step Functions Standard: USD 0.025 per 1,000 state transitions (https://aws.amazon.com/step-functions/pricing/)
  Lambda arm64: USD 0.20 per 1M requests + USD 0.0000133334 per GB-second (https://aws.amazon.com/lambda/pricing/)
  CloudWatch GetMetricData: USD 0.01 per 1,000 metrics requested (https://aws.amazon.com/cloudwatch/pricing/)
  DynamoDB on-demand: USD 0.625 per 1M write request units, USD 0.125 per 1M read request units
    (https://aws.amazon.com/dynamodb/pricing/on-demand/; items here are under 1 KB: one unit each, a transaction's
    item two)
  SNS standard topics: USD 0.50 per 1M publishes (https://aws.amazon.com/sns/pricing/; deliveries not counted)
  ECS API calls (Describe/List/Continue ServiceDeployments ...): no charge.
Lambda duration: the template's MemorySize (Globals) at a billed 0.3 s per invocation (a few API calls each, as
bench/bench_canary.py assumes), or the offline mean per invocation if that is longer (it includes the emulator's time).
Numbers are printed, never asserted (`make bench`).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh_rollout_local.runner import OfflineAccount, RunResult
from mesh_rollout_local.template import Template

ROOT = Path(__file__).resolve().parent.parent
MACHINE = "EcsDeploymentStateMachine"
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000133334
GET_METRIC_DATA_PER_METRIC = 0.01 / 1000
DYNAMODB_PER_WRITE = 0.625 / 1_000_000
DYNAMODB_PER_READ = 0.125 / 1_000_000
SNS_PER_PUBLISH = 0.50 / 1_000_000
BILLED_SECONDS = 0.3
AIM_USD = 0.01
STRATEGY = {
    "strategy": "LINEAR",
    "linearConfiguration": {"stepPercent": 20.0, "stepBakeTimeInMinutes": 10},
    "bakeTimeInMinutes": 10,
}
POLL_CYCLE = ("WaitForEcs", "ReadDeployment", "WhereIsEcs")  # one Wait, one read, its Choice
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


@dataclass
class Segment:
    """Part of the execution: the states it entered and the Lambda invocations those states made."""

    name: str
    states: list[str] = field(default_factory=list)
    invocations: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # (function, its AWS calls)
    extra_polls: int = 0  # poll cycles beyond the first: not on AWS (see the module's docstring)
    extra_poll_calls: list[list[tuple[str, str]]] = field(default_factory=list)

    def calls(self, aws: bool = False) -> Counter[tuple[str, str]]:
        counted: Counter[tuple[str, str]] = Counter(c for _, made in self.invocations for c in made)
        if aws:
            counted.subtract(Counter(c for made in self.extra_poll_calls for c in made))
        return +counted

    def transitions(self, aws: bool = False) -> int:
        return len(self.states) - (len(POLL_CYCLE) * self.extra_polls if aws else 0)

    def lambda_count(self, aws: bool = False) -> int:
        return len(self.invocations) - (self.extra_polls if aws else 0)


def is_ecs_read(call: tuple[str, str]) -> bool:
    return call[0] == "ecs" and call[1].startswith(("Describe", "List"))


def lambda_tasks(history: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(id of the TaskScheduled event, function name) of each Lambda invocation, in the order they were made."""
    found = []
    for event in history:
        details = event.get("taskScheduledEventDetails")
        if event["type"] == "TaskScheduled" and details and details["resourceType"] == "lambda":  # lambda:invoke
            found.append((event["id"], json.loads(details["parameters"])["FunctionName"].rsplit(":", 1)[-1]))
        elif event["type"] == "LambdaFunctionScheduled":  # a Task whose Resource is the function's ARN
            found.append((event["id"], event["lambdaFunctionScheduledEventDetails"]["resource"].rsplit(":", 1)[-1]))
    return found


def split(result: RunResult) -> list[Segment]:
    """Before the steps; one segment per gate (from the Wait after the start or a CONTINUE to the next CONTINUE);
    after the last CONTINUE. Lambda invocations are matched to their states by order (one execution, run one task
    at a time: the history's TaskScheduled events and the runner's invocations are in the same order)."""
    tasks = lambda_tasks(result.history)
    assert len(tasks) == len(result.invocation_calls), (len(tasks), len(result.invocation_calls))
    calls_of = {event_id: (function, made) for (event_id, function), made in zip(tasks, result.invocation_calls, strict=True)}
    segments = [Segment("before the steps (plan, lock, start)")]
    state = None
    for event in result.history:
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
            if (
                state == "WaitForEcs"
                and segments[-1].states
                and segments[-1].states[-1] in ("NotCheckedYet", "ContinueDeployment")
            ):
                segments.append(Segment(f"gate {len(segments)}"))
            segments[-1].states.append(state)
        elif event["id"] in calls_of:
            segments[-1].invocations.append(calls_of[event["id"]])
    *gates, last = segments[1:]
    tail = Segment("after the last CONTINUE (ECS's bake, clean-up; finish)")
    # the last segment starts with ECS's final bake: its poll cycles up to SUCCESSFUL, then Finish
    if last.states and "ContinueDeployment" not in last.states:
        tail.states, tail.invocations = last.states, last.invocations
    else:
        gates.append(last)
    for part in [*gates, tail]:
        cycles = [i for i in range(len(part.states)) if tuple(part.states[i : i + 3]) == POLL_CYCLE]
        part.extra_polls = max(0, len(cycles) - 1)
        reads = [made for function, made in part.invocations if function == "EcsDeploymentStatusFunction"]
        part.extra_poll_calls = reads[: part.extra_polls]
    return [segments[0], *gates, tail]


def metrics_requested(requests: dict[str, list[tuple[str, str, dict[str, Any]]]]) -> int:
    """Metrics requested by GetMetricData calls (each MetricStat query; expressions are not charged)."""
    return sum(
        sum(1 for query in params.get("MetricDataQueries", []) if "MetricStat" in query)
        for made in requests.values()
        for service, operation, params in made
        if (service, operation) == ("cloudwatch", "GetMetricData")
    )


def lambda_seconds(history: list[dict[str, Any]]) -> list[float]:
    """Offline seconds from each Lambda task's start to its result (the emulator's, not AWS's)."""
    started, took = {}, []
    for event in history:
        if event["type"] in ("TaskStarted", "LambdaFunctionStarted"):
            started[event["previousEventId"]] = event["timestamp"]
        elif event["type"] in ("TaskSucceeded", "TaskFailed", "LambdaFunctionSucceeded", "LambdaFunctionFailed"):
            scheduled = next((s for s in started if s < event["id"]), None)
            if scheduled is not None:
                took.append((event["timestamp"] - started.pop(scheduled)).total_seconds())
    return took


def memory_gb() -> float:
    template = Template(ROOT / "template.yaml")
    memory = template.body.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    sizes = {
        template.resources[f]["Properties"].get("MemorySize", memory)
        for f in template.functions
        if "Ecs" in f and f != "EcsHookEventFunction"
    }
    return max(sizes) / 1024


def cost(
    transitions: int, invocations: int, calls: Counter[tuple[str, str]], metrics: int, gb: float, billed: float
) -> dict[str, float]:
    writes = sum(n for (s, op), n in calls.items() if s == "dynamodb" and op in DYNAMODB_WRITES)
    writes += 2 * calls[("dynamodb", "TransactWriteItems")]  # lock.release: delete + record
    reads = sum(n for (s, op), n in calls.items() if s == "dynamodb" and op == "GetItem")
    return {
        "Step Functions": transitions * SFN_PER_TRANSITION,
        "Lambda": invocations * (LAMBDA_PER_REQUEST + gb * billed * LAMBDA_PER_GB_SECOND),
        "CloudWatch GetMetricData": metrics * GET_METRIC_DATA_PER_METRIC,
        "DynamoDB": writes * DYNAMODB_PER_WRITE + reads * DYNAMODB_PER_READ,
        "SNS": calls[("sns", "Publish")] * SNS_PER_PUBLISH,
    }


def main() -> int:
    given = json.loads((ROOT / "events" / "local" / "ecs-deployment-alb-given.json").read_text())
    with (
        open(os.devnull, "w") as quiet,
        OfflineAccount(ROOT / "template.yaml", handler_output=quiet, record_requests=True) as account,
    ):
        account.apply_given(given, ROOT / "events" / "local")
        deployment = json.loads(account.resolve_input((ROOT / "events" / "ecs-deployment-alb.json").read_text()))
        deployment["deploymentConfiguration"] = STRATEGY
        assert account.requests_by_function is not None
        account.requests_by_function.clear()  # the given world's own runs are not the deployment's
        result = account.run(MACHINE, deployment, approver=lambda pending: (True, "bench"))
        requests = dict(account.requests_by_function)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    parts = split(result)
    gb = memory_gb()
    took = lambda_seconds(result.history)
    # billed duration: the stated 0.3 s, or the offline mean if that is longer (it includes the emulator's time)
    billed = max([BILLED_SECONDS, sum(took) / len(took)] if took else [BILLED_SECONDS])
    print(f"\nECS-native deployment (EcsDeploymentStateMachine), ALB world, offline: {result.status} in {result.seconds:.1f} s")
    print(f"  strategy {json.dumps(STRATEGY)}; approval before {deployment['approval']['beforeSteps']} (answered at once)")
    judged = [step["percent"] for step in result.output.get("steps", [])]
    print(f"  steps judged (production % on the new revision when ECS paused): {judged}")
    header = f"  {'segment':<62} {'transitions':>11} {'Lambda':>6} {'ECS reads':>9} {'ECS writes':>10} {'other AWS':>9}"
    for aws in (False, True):
        print(
            "\n  MEASURED OFFLINE (the emulator's clock; ReadDeployment polls while ECS still bakes):"
            if not aws
            else "\n  ON AWS, computed from the ASL path (one Wait sized to ECS's bake + one read per step; judge re-checks"
            " as measured):"
        )
        print(header)
        for part in parts:
            calls = part.calls(aws)
            reads = sum(n for c, n in calls.items() if is_ecs_read(c))
            writes = sum(n for c, n in calls.items() if c[0] == "ecs" and not is_ecs_read(c))
            other = sum(calls.values()) - reads - writes
            polls = f" ({part.extra_polls} extra polls)" if part.extra_polls and not aws else ""
            counts = f"{part.transitions(aws):>11} {part.lambda_count(aws):>6} {reads:>9} {writes:>10} {other:>9}"
            print(f"  {(part.name + polls):<62} {counts}")
        transitions = sum(p.transitions(aws) for p in parts)
        invocations = sum(p.lambda_count(aws) for p in parts)
        total_calls: Counter[tuple[str, str]] = Counter()
        for part in parts:
            total_calls.update(part.calls(aws))
        reads = sum(n for c, n in total_calls.items() if is_ecs_read(c))
        writes = sum(n for c, n in total_calls.items() if c[0] == "ecs" and not is_ecs_read(c))
        other = sum(total_calls.values()) - reads - writes
        print(f"  {'per deployment':<62} {transitions:>11} {invocations:>6} {reads:>9} {writes:>10} {other:>9}")
        metrics = metrics_requested(requests)
        priced = cost(transitions, invocations, total_calls, metrics, gb, billed)
        print(
            "  cost: "
            + "; ".join(f"{name} USD {value:.6f}" for name, value in priced.items())
            + f"; total USD {sum(priced.values()):.6f}"
        )
        if aws:
            on_aws = (transitions, invocations, sum(priced.values()), total_calls)
    gates = parts[1:-1]
    print("\n  a gate's path on AWS (gate 2): " + " -> ".join(_aws_path(gates[1])))
    print("\n  Lambda invocations by function (offline):")
    by_function = Counter(function for part in parts for function, _ in part.invocations)
    for function, count in sorted(by_function.items()):
        print(f"    {function:<34} {count:>3}")
    print("\n  AWS calls by our handlers (offline), ECS reads marked:")
    offline_calls: Counter[tuple[str, str]] = Counter()
    for part in parts:
        offline_calls.update(part.calls())
    for (service, operation), count in sorted(offline_calls.items()):
        mark = "ECS read " if is_ecs_read((service, operation)) else ""
        print(f"    {mark:<9}{service + ':' + operation:<40} {count:>4}")
    if took:
        print(
            f"\n  Lambda duration: {billed:.3f} s billed per invocation at {gb * 1024:.0f} MB (arm64): the larger of the stated "
            f"{BILLED_SECONDS} s and the offline mean {sum(took) / len(took):.3f} s over {len(took)} tasks"
        )
    print(f"  CloudWatch metrics requested by GetMetricData (offline, same on AWS): {metrics_requested(requests)}")
    transitions, invocations, total, calls = on_aws
    checks = [p for p in gates]
    per_check_lambda = max(sum(1 for f, _ in p.invocations if f == "EcsStepCheckFunction") for p in checks)
    per_read_ecs = max(
        sum(1 for c in made if is_ecs_read(c)) for p in parts for f, made in p.invocations if f == "EcsDeploymentStatusFunction"
    )
    per_step_reads = max(sum(n for c, n in p.calls(aws=True).items() if is_ecs_read(c)) for p in checks)
    print("\n  ECS alone (its own LINEAR deployment, no gate): 0 transitions, 0 Lambda invocations, USD 0 of ours")
    print(f"  with the gate, on AWS: {transitions} transitions, {invocations} Lambda invocations, USD {total:.6f} per deployment")
    print(
        f"  aim (issue 22 item 6): at most one Lambda invocation per gate check: {per_check_lambda} (EcsStepCheck per pause) "
        f"-> {'met' if per_check_lambda <= 1 else 'NOT met'}; "
        f"at most one ECS read per gate check: {per_step_reads} per step on AWS, "
        f"{per_read_ecs} per ReadDeployment -> {'met' if per_step_reads <= 1 and per_read_ecs <= 1 else 'NOT met'}; "
        f"under USD {AIM_USD} for the five-step deployment: USD {total:.6f} -> {'met' if total < AIM_USD else 'NOT met'}"
    )
    print(
        f"  (each gate also invokes EcsDeploymentStatus to read ECS and EcsDecide to CONTINUE: "
        f"{max(p.lambda_count(aws=True) for p in checks)} invocations per gate on AWS, with the approval's)"
    )
    return 0


def _aws_path(part: Segment) -> list[str]:
    """The gate's states without its extra poll cycles."""
    states, dropped, i, out = part.states, 0, 0, []
    while i < len(states):
        if tuple(states[i : i + 3]) == POLL_CYCLE and dropped < part.extra_polls:
            dropped, i = dropped + 1, i + 3
            continue
        out.append(states[i])
        i += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
