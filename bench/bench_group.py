"""Groups (issue 25): one WeightShiftStateMachine execution moving N VPC Lattice legs together, offline, for
N = 1, 5, 20 and 25 (grouping/inputs.py MAX_LEGS): states entered, Lambda invocations, AWS calls by our handlers,
history events and the largest state input or output, in all and per step; then Step Functions' limits.

Each leg is one Lattice service with a listener rule forwarding stable 100 / canary 0, the canary's alarm (OK) and
ten minutes of healthy canary metrics (the world is built here, one leg as examples/checkout-given.json has it,
without the ECS services the gate does not read). The group: steps 10, 25, 50, 75, 100 (5 steps), a bake of 300 s,
one approval before 100 (answered by the bench), each leg gated by its alarm and maxErrorRate 0.01. The legs wait
for none (one wave a step); row "20w" chains 20 legs (each `after` the previous one: 20 waves a step, one MoveWaves
iteration each), to show what a wave costs. Row "ecs" runs events/group-ecs-lattice.json in its world
events/local/group-ecs-given.json (a Lattice route leg and an ECS-native LINEAR leg): offline Waits take no time and
the emulator's ECS moves on a scaled clock, so its ECS polls count how long the loop spun, not what AWS would make.
The history estimate of grouping/inputs.py (history_events, with its constants) is printed against these measurements.

The worst case for the history: one leg's canary publishes no metrics until its gate's last allowed re-check, at
every step: CheckLegs says PENDING (no data, treated as missing) maxPendingChecks times (10, the default), then
HEALTHY. The account's clock moves on by the gate's window plus a minute at each step (Wait states take no time
offline), so a step's data is out of the next step's window, as on AWS; the bench publishes the healthy legs'
data again at each step, and the slow leg's at its last re-check (PutMetricData calls not counted below).

Limits (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html): 25,000 events in an
execution's history, 256 KiB of input or output per state (and of the execution input). The largest payload is
max over the history's events of len(input or output), as bench_scale measures it.

Run with `make bench`, or `python bench/bench_group.py 1 5` for fewer sizes (about 40 s in all).
Numbers are printed, never asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from collections import Counter
from typing import Any

from bench_reference import mutating_calls
from bench_scale import HISTORY_LIMIT, PAYLOAD_LIMIT, kib, largest_payload
from mesh_rollout_local.report import Segment, segments
from mesh_rollout_local.runner import OfflineAccount, RunResult, StillClock
from mesh_rollout_local.scenarios import ROOT

STEPS = [10, 25, 50, 75, 100]
BAKE_SECONDS = 300
SIZES = [1, 5, 20]
TEN_STEPS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
MAX_PENDING_CHECKS = 10  # the healthGate default (shifting/inputs.py)
STEPS_MAP = "GroupSteps"
APPROVAL_STATE = "RequestGroupApproval"
ECS_EXAMPLE, ECS_WORLD = "events/group-ecs-lattice.json", "events/local/group-ecs-given.json"
HEALTHY = [("TotalRequestCount", 150.0), ("HTTPCode_5XX_Count", 0.0)]  # per minute: an error rate of 0


def name(i: int) -> str:
    return f"svc{i:02d}"


def world(n: int, metrics: bool = True) -> list[dict[str, Any]]:
    """The given calls of n Lattice legs (events/local/README.md's format): svcNN with rule svcNN forwarding
    target groups svcNN 100 / svcNNv2 0, alarm svcNNv2-5xx, and (with `metrics`) ten healthy minutes of svcNNv2."""
    calls: list[dict[str, Any]] = [
        {"service": "ec2", "operation": "create_vpc", "params": {"CidrBlock": "10.1.0.0/16"}, "saveAs": "vpc"}
    ]
    for i in range(n):
        svc = name(i)
        config = {"port": 8080, "protocol": "HTTP", "vpcIdentifier": "{{given:vpc.Vpc.VpcId}}"}
        for target in (svc, f"{svc}v2"):
            group = {"name": target, "type": "IP", "config": config}
            calls.append(_call("vpc-lattice", "create_target_group", group, f"{target}Group"))
        calls += [
            _call("vpc-lattice", "create_service", {"name": svc, "authType": "NONE"}, svc),
            _call(
                "vpc-lattice",
                "create_listener",
                {
                    "serviceIdentifier": f"{{{{given:{svc}.id}}}}",
                    "name": "http-80",
                    "protocol": "HTTP",
                    "port": 80,
                    "defaultAction": {"fixedResponse": {"statusCode": 404}},
                },
                f"{svc}Listener",
            ),
            _call(
                "vpc-lattice",
                "create_rule",
                {
                    "serviceIdentifier": f"{{{{given:{svc}.id}}}}",
                    "listenerIdentifier": f"{{{{given:{svc}Listener.id}}}}",
                    "name": svc,
                    "priority": 10,
                    "match": {"httpMatch": {"pathMatch": {"match": {"prefix": "/"}}}},
                    "action": {
                        "forward": {
                            "targetGroups": [
                                {"targetGroupIdentifier": f"{{{{given:{svc}Group.id}}}}", "weight": 100},
                                {"targetGroupIdentifier": f"{{{{given:{svc}v2Group.id}}}}", "weight": 0},
                            ]
                        }
                    },
                },
            ),
            _call(
                "cloudwatch",
                "put_metric_alarm",
                {
                    "AlarmName": f"{svc}v2-5xx",
                    "Namespace": "AWS/VpcLattice",
                    "MetricName": "HTTPCode_5XX_Count",
                    "Dimensions": [{"Name": "TargetGroup", "Value": f"{{{{given:{svc}v2Group.id}}}}"}],
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 5,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                },
            ),
            _call("cloudwatch", "set_alarm_state", {"AlarmName": f"{svc}v2-5xx", "StateValue": "OK", "StateReason": "bench"}),
        ]
        if metrics:
            calls.append(
                {
                    "metrics": {
                        "Namespace": "AWS/VpcLattice",
                        "Dimensions": [{"Name": "TargetGroup", "Value": f"{{{{given:{svc}v2Group.id}}}}"}],
                        "minutes": 10,
                        "newestSecondsAgo": 30,
                        "MetricData": [{"MetricName": m, "Value": v, "Unit": "Count"} for m, v in HEALTHY],
                    }
                }
            )
    return calls


def _call(service: str, operation: str, params: dict[str, Any], save_as: str | None = None) -> dict[str, Any]:
    return {"service": service, "operation": operation, "params": params, **({"saveAs": save_as} if save_as else {})}


def group_input(n: int, steps: list[int] = STEPS, gate: dict[str, Any] | None = None, chain: bool = False) -> dict[str, Any]:
    """`chain`: each leg waits for the previous one (`after`), so a step moves n waves, one leg each."""
    legs = [
        {
            "name": name(i),
            **({"after": [name(i - 1)]} if chain and i else {}),
            "weightShift": {
                "serviceIdentifier": name(i),
                "listenerIdentifier": "http-80",
                "ruleIdentifier": name(i),
                "stable": name(i),
                "canary": f"{name(i)}v2",
                "healthGate": {"alarmNames": [f"{name(i)}v2-5xx"], "maxErrorRate": 0.01, **(gate or {})},
            },
        }
        for i in range(n)
    ]
    return {"legs": legs, "steps": steps, "bakeSeconds": BAKE_SECONDS, "approval": {"beforeSteps": [100]}}


class SlowLeg:
    """The worst case's world at run time (see the module's docstring): the clock moves on at each step, the
    healthy legs' data is published again, and the slow leg's (the last) only at its gate's last allowed check."""

    def __init__(self, account: OfflineAccount, clock: StillClock, n: int) -> None:
        self.account, self.clock, self.n = account, clock, n
        self.puts = 0
        lattice = account.client("vpc-lattice")
        pages = lattice.get_paginator("list_target_groups").paginate()
        self.dimension = {group["name"]: group["id"] for page in pages for group in page["items"]}
        account.intercept("ShiftTrafficFunction", self.moved)
        account.intercept("CanaryHealthFunction", self.checking)

    def moved(self, event: dict[str, Any]) -> None:
        if event.get("action") == "applyLegs":
            self.clock.advance(max(BAKE_SECONDS, 60) + 60)
            self.publish(range(self.n - 1))

    def checking(self, event: dict[str, Any]) -> None:
        if event.get("checks") == MAX_PENDING_CHECKS:
            self.publish([self.n - 1])

    def publish(self, legs: Any) -> None:
        stamp = self.clock() - dt.timedelta(seconds=30)
        data = [
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "TargetGroup", "Value": self.dimension[f"{name(i)}v2"]}],
                "Timestamp": stamp,
                "Value": value,
                "Unit": "Count",
            }
            for i in legs
            for metric, value in HEALTHY
        ]
        for start in range(0, len(data), 1000):
            self.account.client("cloudwatch").put_metric_data(Namespace="AWS/VpcLattice", MetricData=data[start : start + 1000])
            self.puts += 1


def run(
    n: int, slow: bool = False, steps: list[int] = STEPS, gate: dict[str, Any] | None = None, chain: bool = False
) -> dict[str, Any]:
    clock = StillClock() if slow else None
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet, clock=clock) as account:
        account.apply_given(world(n, metrics=not slow))
        text = json.dumps(group_input(n, steps, gate, chain), separators=(",", ":"))
        slow_leg = SlowLeg(account, clock, n) if clock else None
        result = account.run("WeightShiftStateMachine", text, approver=lambda pending: (True, "bench"), timeout=900)
    return measure(result, text, slow_leg.puts if slow_leg else 0)


def run_ecs() -> dict[str, Any]:
    """events/group-ecs-lattice.json in its world events/local/group-ecs-given.json: a Lattice route leg and an ECS
    LINEAR leg after it (20 % steps, 10 minutes' bake), group steps 20, 60, 100, one approval before 100."""
    given = ROOT / ECS_WORLD
    with open(os.devnull, "w") as quiet, OfflineAccount(ROOT / "template.yaml", handler_output=quiet) as account:
        account.apply_given(json.loads(given.read_text()), base=given.parent, source=ECS_WORLD)
        text = account.resolve_input((ROOT / ECS_EXAMPLE).read_text())
        result = account.run("WeightShiftStateMachine", text, approver=lambda pending: (True, "bench"), timeout=900)
    m = measure(result, json.dumps(json.loads(text), separators=(",", ":")), 0)
    m["by_state"] = Counter(result.states)
    return m


def measure(result: RunResult, sent: str, bench_puts: int) -> dict[str, Any]:
    calls = Counter(result.api_calls)
    calls[("cloudwatch", "PutMetricData")] -= bench_puts  # the bench's own, made in an interceptor
    parts = group_segments(result)
    steps = parts[1:-1]
    return {
        "status": result.status,
        "cause": result.cause,
        "seconds": result.seconds,
        "states": len(result.states),
        "invocations": result.lambda_invocations,
        "calls": sum(calls.values()),
        "mutating": mutating_calls(+calls),
        "events": len(result.history),
        "input": len(sent.encode()),
        "payload": largest_payload(result.history),
        "payload_at": largest_at(result.history),
        "steps": len(steps),
        "step_states": sum(len(p.states) for p in steps),
        "step_invocations": sum(p.invocations for p in steps),
        "step_calls": sum(sum(p.calls.values()) for p in steps),
        "outside": (parts[0], parts[-1]),
        "parts": parts,
        "step_events": _step_events(result.history),
        "each_step": each_step_events(result.history),
    }


def largest_at(history: list[dict[str, Any]]) -> str:
    """Where bench_scale.largest_payload's figure is: the event holding it, in the state last entered."""
    size, state = largest_payload(history), ""
    for event in history:
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        for key, details in event.items():
            fields = (details.get(f) for f in ("input", "output")) if isinstance(details, dict) else ()
            if key.endswith("EventDetails") and any(isinstance(t, str) and len(t.encode()) == size for t in fields):
                return f"{event['type']} in {state}" if state else event["type"]
    return ""


def by_operation(m: dict[str, Any], n: int) -> str:
    """The steps' AWS calls by operation, per leg and step."""
    calls: Counter[tuple[str, str]] = Counter()
    for part in m["parts"][1:-1]:
        calls.update(part.calls)
    return ", ".join(f"{op} {count / n / m['steps']:.1f}" for (_, op), count in sorted(calls.items(), key=lambda c: -c[1]))


def group_segments(result: RunResult) -> list[Segment]:
    """report.segments cut at GroupSteps' iterations only: each step's MoveWaves Map has iterations of its own."""
    return segments(result, steps_map=STEPS_MAP)


def _step_events(history: list[dict[str, Any]]) -> int:
    """The history events from GroupSteps' first iteration to its exit."""
    first, last = None, len(history) - 1
    for i, event in enumerate(history):
        if event["type"] == "MapIterationStarted" and event["mapIterationStartedEventDetails"].get("name") == STEPS_MAP:
            first = i if first is None else first
        elif event["type"] == "MapStateExited" and event["stateExitedEventDetails"]["name"] == STEPS_MAP:
            last = i
    return last - (first or 0) + 1


def each_step_events(history: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    """Each GroupSteps iteration's history events (the last one's up to the Map's exit) and whether it asked for
    an approval: the approval's cost is its step's events less a step's without one."""
    found: list[list[Any]] = []
    for event in history:
        kind = event["type"]
        if kind == "MapIterationStarted" and event["mapIterationStartedEventDetails"].get("name") == STEPS_MAP:
            found.append([0, False])
        elif kind == "MapStateExited" and event["stateExitedEventDetails"]["name"] == STEPS_MAP:
            found[-1][0] += 1
            break
        if found:
            found[-1][0] += 1
            if kind.endswith("StateEntered") and event["stateEnteredEventDetails"]["name"] == APPROVAL_STATE:
                found[-1][1] = True
    return [(events, approved) for events, approved in found]


def step_costs(m: dict[str, Any]) -> tuple[int, int]:
    """(a step's events without an approval, what an approval adds to its step)."""
    plain = [events for events, approved in m["each_step"] if not approved]
    asked = [events for events, approved in m["each_step"] if approved]
    step = max(plain)
    return step, (max(asked) - step if asked else 0)


def per_step(total: int, steps: int) -> str:
    return f"{total / steps:.1f}" if steps else "-"


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or SIZES
    with OfflineAccount(ROOT / "template.yaml"):  # puts the functions' code on the path
        from mesh_rollout.grouping import inputs

    MAX_LEGS = inputs.MAX_LEGS
    # moto's interpreter logs an error for every IsPresent test that is false (a Choice's branch, not a failure)
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    print(
        f"Groups of N VPC Lattice legs in one WeightShiftStateMachine execution, offline: steps {STEPS}, "
        "one approval before 100\n(answered), each leg gated by its alarm and maxErrorRate. Limits: 25,000 history "
        "events, 256 KiB per state input/output."
    )
    header = (
        f"  {'legs':>4} {'status':<9} {'wall':>6} {'states':>6} {'Lambda':>6} {'AWS calls':>9} {'mutat.':>6} "
        f"{'events':>6} {'input':>9} {'max payload':>11} | per step: {'states':>6} {'Lambda':>6} {'AWS calls':>9} {'events':>6}"
    )
    print(header)
    measured: dict[int, dict[str, Any]] = {}

    def row(label: str, m: dict[str, Any]) -> None:
        s = m["steps"]
        print(
            f"  {label:>4} {m['status']:<9} {m['seconds']:>5.1f}s {m['states']:>6} {m['invocations']:>6} {m['calls']:>9} "
            f"{m['mutating']:>6} {m['events']:>6} {kib(m['input']):>9} {kib(m['payload']):>11} | "
            f"{'':>10} {per_step(m['step_states'], s):>6} {per_step(m['step_invocations'], s):>6} "
            f"{per_step(m['step_calls'], s):>9} {per_step(m['step_events'], s):>6}",
            flush=True,
        )
        if m["status"] != "SUCCEEDED":
            print(f"       {m['cause']}")

    chain_n = max(*sizes, 2)  # a chain of one leg has no wave to compare
    for n in sorted({*sizes, MAX_LEGS, chain_n}):
        measured[n] = run(n)
        row(str(n), measured[n])
    chained = run(chain_n, chain=True)
    row(f"{chain_n}w", chained)
    ecs = run_ecs()
    row("ecs", ecs)
    first = measured[min(measured)]
    before, after = first["outside"]
    print(
        f"  per step: the GroupSteps Map's iterations' totals / {len(STEPS)} steps (the approval before 100 is in its "
        "step). Outside\n  the steps, whatever N: before them "
        f"{' -> '.join(dict.fromkeys(before.states))} ({len(before.states)} states, {before.invocations} Lambda),"
        f"\n  after them {' -> '.join(dict.fromkeys(after.states))} ({len(after.states)} states, {after.invocations} Lambda);"
        " their AWS calls grow with N. input: the execution input; max payload: the largest state input or output."
    )
    flat = measured[chain_n]
    per_wave = (chained["step_events"] - flat["step_events"]) / chained["steps"] / (chain_n - 1)
    per_wave_states = (chained["step_states"] - flat["step_states"]) / chained["steps"] / (chain_n - 1)
    one_wave = flat["step_events"] / flat["steps"]
    plain, approval = step_costs(flat)
    print(
        f"  {chain_n}w: {chain_n} legs, each after the previous one ({chain_n} waves a step, moved in order by one MoveLegs): "
        f"a wave costs {per_wave:.1f} events and {per_wave_states:.1f} states a step; a step is "
        f"{one_wave - per_wave:.1f} + {per_wave:.1f} x waves events (approval included, averaged over the steps)"
    )
    print(
        f"  a step without an approval: {plain} events at one wave ({plain - per_wave:.0f} + {per_wave:.0f} x waves); "
        f"the approval adds {approval} events to its step ({', '.join(str(e) for e, _ in flat['each_step'])} "
        f"events a step, {chain_n} legs, one wave; {chain_n}w: {', '.join(str(e) for e, _ in chained['each_step'])})"
    )
    polls = {k: ecs["by_state"][k] for k in ("ReadEcsLegs", "ReadEcsCompletion", "StartEcsLegs", "ContinueEcsLegs")}
    polls["ContinueEcsCompletion"] = ecs["by_state"]["ContinueEcsCompletion"]
    print(
        f"  ecs: {ECS_EXAMPLE} in {ECS_WORLD} (a Lattice route leg, an ECS LINEAR leg after it; steps 20, 60, 100): "
        f"{', '.join(f'{k} {v}' for k, v in polls.items())}.\n  Offline Waits take no time and the emulator's ECS "
        "runs on a scaled clock, so the ECS polls (and the events) count how long the loop spun, not what AWS makes"
    )
    largest = max(sizes)
    print(f"  the steps' AWS calls per leg and step ({largest} legs): {by_operation(measured[largest], largest)}")
    if len(measured) >= 2:
        low, high = min(measured), max(measured)
        slope = (measured[high]["payload"] - measured[low]["payload"]) / (high - low)
        base = measured[low]["payload"] - slope * low
        at_limit = int((PAYLOAD_LIMIT - base) / slope) if slope > 0 else 0
        big = measured[MAX_LEGS]
        print(
            f"\nLimits at MAX_LEGS = {MAX_LEGS}: largest payload {kib(big['payload'])} of 256 KiB "
            f"({big['payload'] / PAYLOAD_LIMIT:.0%}, {big['payload_at']}); history {big['events']} events of {HISTORY_LIMIT:,} "
            f"({big['events'] / HISTORY_LIMIT:.1%})."
        )
        print(
            f"  the largest payload grows by {slope:,.0f} bytes a leg ({low} -> {high} legs, linear): "
            f"the limit is {at_limit} legs by payload (256 KiB at {base:,.0f} + {slope:,.0f} x legs bytes)."
        )
        ten = run(MAX_LEGS, steps=TEN_STEPS, gate={"maxPendingChecks": 3})
        per_leg_step = (ten["payload"] - big["payload"]) / (len(TEN_STEPS) - len(STEPS)) / MAX_LEGS
        slope_ten = slope + per_leg_step * (len(TEN_STEPS) - len(STEPS))
        at_ten = int((PAYLOAD_LIMIT - (ten["payload"] - slope_ten * MAX_LEGS)) / slope_ten)
        print(
            f"  with 10 steps ({MAX_LEGS} legs; maxPendingChecks 3, or the admission check refuses it): {ten['status']}, "
            f"largest payload {kib(ten['payload'])}, {ten['events']} events.\n  Each step adds {per_leg_step:,.0f} bytes "
            f"a leg: at 10 steps a leg is {slope_ten:,.0f} bytes and the limit is {at_ten} legs by payload."
        )
        events_slope = (measured[high]["events"] - measured[low]["events"]) / (high - low)
        print(
            f"  the history grows by {events_slope:.1f} events a leg: the steps are one MoveLegs and one CheckLegs task "
            "each, whatever N (their legs are handled inside one invocation)."
        )

    slow_n = max(sizes)
    w = run(slow_n, slow=True)
    ok = measured.get(slow_n)
    print(
        f"\nWorst case, {slow_n} legs: one leg's gate PENDING (no data) for its {MAX_PENDING_CHECKS} re-checks "
        f"(maxPendingChecks) at each of the {len(STEPS)} steps, then HEALTHY: {w['status']} in {w['seconds']:.1f} s"
    )
    if w["status"] != "SUCCEEDED":
        print(f"  {w['cause']}")
    rechecks = len(STEPS) * MAX_PENDING_CHECKS
    added = w["events"] - ok["events"] if ok else 0
    print(
        f"  {w['states']} states, {w['invocations']} Lambda, {w['calls']} AWS calls; history {w['events']} events "
        f"({w['events'] / HISTORY_LIMIT:.1%} of 25,000)"
        + (f", {added} more than without re-checks: {added / rechecks:.1f} a re-check ({rechecks} re-checks)" if ok else "")
        + f"; largest payload {kib(w['payload'])}"
    )
    if ok:
        outside = ok["events"] - ok["step_events"]
        step, recheck = ok["step_events"] / ok["steps"], added / rechecks

        def most_checks(steps: int) -> int:
            return int((HISTORY_LIMIT - outside - steps * step) / (recheck * steps))

        print(
            f"  a group's history at worst, whatever its legs: {outside} + steps x ({step:.1f} + {recheck:.0f} x "
            f"maxPendingChecks) events; 25,000 at maxPendingChecks {most_checks(len(STEPS))} with {len(STEPS)} steps, "
            f"{most_checks(100)} with 100 (the inputs' maxima: 100 re-checks, 100 steps)"
        )
    print(
        f"\ngrouping/inputs.py's history estimate (history_events): {inputs.EVENTS_OUTSIDE_STEPS} + "
        f"{inputs.EVENTS_PER_APPROVAL} x approvals + steps x ({inputs.EVENTS_PER_STEP}, with ECS legs"
        f" {inputs.EVENTS_PER_ECS_STEP} + {inputs.EVENTS_PER_WAVE} x waves; + {inputs.EVENTS_PER_RECHECK} x maxPendingChecks),"
        f" against the measured (maxPendingChecks {MAX_PENDING_CHECKS}):"
    )
    if ok:
        outside = ok["events"] - ok["step_events"]
        plain, approval = step_costs(ok)
        print(
            f"  measured: {outside} outside the steps, {plain - per_wave:.0f} a step, {per_wave:.0f} a wave, {approval} an "
            f"approval, {added / rechecks:.0f} a re-check; constants: {inputs.EVENTS_OUTSIDE_STEPS}, "
            f"{inputs.EVENTS_PER_STEP} ({inputs.EVENTS_PER_ECS_STEP} + {inputs.EVENTS_PER_WAVE} a wave with ECS legs),"
            f" {inputs.EVENTS_PER_APPROVAL}, {inputs.EVENTS_PER_RECHECK}"
        )
    rechecks_measured = (w["events"] - ok["events"]) if ok else 0
    cases = [
        (f"{slow_n} legs, 1 wave, worst case", w["events"], len(STEPS), 1, MAX_PENDING_CHECKS),
        (
            f"{chain_n} legs, {chain_n} waves, at worst (measured + those re-checks)",
            chained["events"] + rechecks_measured,
            len(STEPS),
            chain_n,
            MAX_PENDING_CHECKS,
        ),
        (f"ecs example, no re-checks, no ECS polls counted ({ecs['events']} events offline)", ecs["events"], ecs["steps"], 2, 0),
    ]
    for label, events, steps, waves, checks in cases:
        guess = inputs.history_events(steps, 1, waves, checks, with_ecs=label.startswith("ecs"))
        print(f"  {label}: {events:,} measured, {guess:,} estimated ({'under' if guess < events else 'over'})")
    print(f"\n(bench_group: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
