"""The statistical judge in the weight shift's gate, offline on VPC Lattice: canary against stable, per minute."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.runner import OfflineAccount, StillClock
from tests.conftest import EVENTS, ROOT, load_json

SM = "WeightShiftStateMachine"


@pytest.fixture
def lattice() -> Iterator[OfflineAccount]:
    with OfflineAccount(ROOT / "template.yaml", clock=StillClock()) as account:
        account.apply_given(load_json(EVENTS / "local" / "lattice-given.json"), EVENTS / "local")
        yield account


def publish(account: OfflineAccount, group: str, minutes: list[tuple[int, int, float]]) -> None:
    """One datapoint per past minute (requests, 5xx, latency ms) for a target group, as Lattice publishes them."""
    now = account.now()
    dimensions = [{"Name": "TargetGroup", "Value": account.saved[group]["id"]}]
    data = []
    for age, (requests, errors, latency) in enumerate(minutes, start=2):
        stamp = now - dt.timedelta(minutes=age)
        data += [
            {"MetricName": "TotalRequestCount", "Dimensions": dimensions, "Value": requests, "Timestamp": stamp},
            {"MetricName": "HTTPCode_5XX_Count", "Dimensions": dimensions, "Value": errors, "Timestamp": stamp},
            {"MetricName": "RequestTime", "Dimensions": dimensions, "Value": latency, "Timestamp": stamp},
        ]
    account.client("cloudwatch").put_metric_data(Namespace="AWS/VpcLattice", MetricData=data)


def judged_shift(**compare: Any) -> dict[str, Any]:
    return {
        "serviceIdentifier": "serviceb",
        "listenerIdentifier": "http-80",
        "ruleIdentifier": "serviceb",
        "stable": "serviceb",
        "canary": "servicebv2",
        "steps": [50, 100],
        "bakeSeconds": 900,  # fifteen one-minute periods
        "healthGate": {
            "maxErrorRate": 0.01,  # the fixed threshold alone would let every canary below pass
            "compare": {"metrics": [{"id": "errorRate", "preset": "errorRate"}], **compare},
        },
    }


def rule(account: OfflineAccount) -> Any:
    saved = account.saved
    return account.client("vpc-lattice").get_rule(
        serviceIdentifier=saved["serviceb"]["id"], listenerIdentifier=saved["listener"]["id"], ruleIdentifier=saved["rule"]["id"]
    )["action"]


def test_a_canary_worse_than_stable_but_under_the_threshold_fails_the_judge_and_is_rolled_back(lattice: OfflineAccount) -> None:
    publish(lattice, "servicebGroup", [(1000, 1 + m % 2, 40.0) for m in range(10)])  # 0.1-0.2% errors
    publish(lattice, "servicebV2Group", [(1000, 6 + m % 3, 41.0) for m in range(10)])  # 0.6-0.8%: under 1%, worse
    snapshot = json.dumps(rule(lattice), sort_keys=True)
    result = lattice.run(SM, judged_shift())
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy")
    cause = result.cause or ""
    assert cause.startswith("at 50%: UNHEALTHY: judge: FAIL, score 0 (pass 95, marginal 75): errorRate: canary ")
    assert "metric canaryErrorRate" not in cause  # the threshold passed: only the judge saw it
    assert json.dumps(rule(lattice), sort_keys=True) == snapshot


def test_a_bad_minute_that_stable_had_too_passes_the_judge(lattice: OfflineAccount) -> None:
    both = [(1000, 1, 40.0)] * 4 + [(1000, 60, 40.0)] + [(1000, 1, 40.0)] * 5  # one bad minute on both
    publish(lattice, "servicebGroup", both)
    publish(lattice, "servicebV2Group", both)
    result = lattice.run(SM, judged_shift(minEffect=0.1))
    assert result.status == "SUCCEEDED", result.cause
    judge = result.output["steps"][0]["health"]["judge"]
    assert judge["outcome"] == "PASS" and judge["score"] == 100
    assert judge["metrics"][0].startswith("errorRate: canary ") and judge["metrics"][0].endswith(": PASS")


def test_a_canary_erring_in_many_more_minutes_than_stable_fails_though_both_medians_are_0(lattice: OfflineAccount) -> None:
    """Thirteen minutes and the given world's (canary 2 errors in 1200 requests, stable 3 in 3600), its own minute or
    sharing one: canary errs in 6 of them, stable in 1, about ten times stable's mean rate; both medians are 0."""
    publish(lattice, "servicebGroup", [(1000, 0, 40.0)] * 13)
    publish(lattice, "servicebV2Group", [(1000, errors, 40.0) for errors in (0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 0, 0)])
    result = lattice.run(SM, judged_shift())
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy"), result.cause
    assert re.search(
        r"errorRate: canary mean 0\.000[56]\d* vs stable 5\.\d+e-05 \(\+\d+% worse\), U=1[23]\d, p=0\.01\d?: FAIL",
        result.cause or "",
    )


@pytest.mark.parametrize(("when", "status"), [("fail", "FAILED"), ("pass", "SUCCEEDED")])
def test_no_traffic_keeps_the_gate_pending_then_follows_the_inputs_choice(
    lattice: OfflineAccount, when: str, status: str
) -> None:
    publish(lattice, "servicebGroup", [(1000, 1, 40.0) for _ in range(10)])  # the canary published nothing more
    shift = judged_shift(whenNoData=when)
    shift["healthGate"].pop("maxErrorRate")
    result = lattice.run(SM, shift)
    assert result.status == status, result.cause
    checks = [s for s in result.states if s == "CheckLegs"]
    assert len(checks) >= 11  # PENDING, re-checked up to maxPendingChecks, then the choice
    if status == "FAILED":
        assert "judge: NO_DATA: errorRate: not enough data (canary 1, stable" in (result.cause or "")


def test_on_app_mesh_the_judge_reads_the_users_own_per_node_metrics_through_a_template() -> None:
    """App Mesh publishes nothing per virtual node; Envoy stats the user publishes per node are compared instead."""
    with OfflineAccount(ROOT / "template.yaml", clock=StillClock()) as account:
        account.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        now = account.now()
        data = []
        for node, base in (("serviceB", 40.0), ("serviceBv2", 80.0)):  # serviceBv2 answers twice as slowly
            for age in range(2, 12):
                stamp = now - dt.timedelta(minutes=age)
                dims = [{"Name": "VirtualNode", "Value": node}]
                data.append(
                    {"MetricName": "upstream_rq_time_p50", "Dimensions": dims, "Value": base + age % 3, "Timestamp": stamp}
                )
        account.client("cloudwatch").put_metric_data(Namespace="Custom/Envoy", MetricData=data)
        template = {
            "Metric": {
                "Namespace": "Custom/Envoy",
                "MetricName": "upstream_rq_time_p50",
                "Dimensions": [{"Name": "VirtualNode", "Value": "${target}"}],
            },
            "Period": 60,
            "Stat": "Average",
        }
        shift = load_json(EVENTS / "weight-shift-apps.json")
        shift.pop("approval")
        shift.update(bakeSeconds=900)
        shift["healthGate"] = {"compare": {"metrics": [{"id": "latency", "metricStat": template}]}}
        result = account.run(SM, shift)
        assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy")
        assert "latency: canary median 81 vs stable 41 (+98% worse)" in (result.cause or "")


def test_the_alb_presets_judge_the_canary_target_group_against_stable() -> None:
    with OfflineAccount(ROOT / "template.yaml", clock=StillClock()) as account:
        account.apply_given(load_json(EVENTS / "local" / "alb-given.json"), EVENTS / "local")
        saved, now = account.saved, account.now()
        balancer = saved["alb"]["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
        data = []
        for group, latency in (("serviceBGroup", 0.040), ("serviceBv2Group", 0.090)):  # the canary: more than twice as slow
            arn = saved[group]["TargetGroups"][0]["TargetGroupArn"]
            dims = [{"Name": "TargetGroup", "Value": arn.split(":", 5)[-1]}, {"Name": "LoadBalancer", "Value": balancer}]
            for age in range(2, 12):
                stamp = now - dt.timedelta(minutes=age)
                data.append(
                    {"MetricName": "TargetResponseTime", "Dimensions": dims, "Value": latency + age / 10000, "Timestamp": stamp}
                )
        account.client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
        shift = json.loads(account.resolve_input((EVENTS / "weight-shift-alb.json").read_text()))
        shift.pop("approval")
        shift.update(bakeSeconds=900, healthGate={"compare": {"metrics": [{"id": "latency", "preset": "latency"}]}})
        result = account.run(SM, shift)
        assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy")
        # the given world's own datapoint (90 s old) shares a minute with one of these or not, as the clock falls:
        # the medians and means move in their last digits (and which of the two is the larger), the verdict does not
        assert re.search(
            r"latency: canary (?:median|mean) 0\.090\d* vs stable 0\.040\d* \(\+12\d% worse\), U=\d+, p=[0-9.e-]+: FAIL",
            result.cause or "",
        )
