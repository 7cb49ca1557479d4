"""`{{given:...}}` references to the --given world, beside the product's own `${target}` placeholder."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.cli import main
from mesh_rollout_local.references import has_references, resolve_refs
from tests.conftest import EVENTS, ROOT

TEMPLATE = str(ROOT / "template.yaml")
ALB_GIVEN = str(EVENTS / "local" / "alb-given.json")


def alb_shift_judged_by(metric_stat: dict[str, Any]) -> dict[str, Any]:
    """events/weight-shift-alb.json (its listener and rule are references to the ALB world), in one step, judged by
    one compare metric."""
    shift = json.loads((EVENTS / "weight-shift-alb.json").read_text())
    shift.pop("approval")
    shift.update(steps=[100], healthGate={"compare": {"metrics": [{"id": "latency", "metricStat": metric_stat}]}})
    return shift


# Each side's TargetResponseTime: the judge fills ${target} with each target group's dimension, the CLI fills the
# load balancer's from the given world
RESPONSE_TIME = {
    "Metric": {
        "Namespace": "AWS/ApplicationELB",
        "MetricName": "TargetResponseTime",
        "Dimensions": [
            {"Name": "TargetGroup", "Value": "${target}"},
            {"Name": "LoadBalancer", "Value": "{{given:alb.LoadBalancers[0].LoadBalancerArn|after::loadbalancer/}}"},
        ],
    },
    "Period": 60,
    "Stat": "Average",
}


def test_a_judge_template_with_the_products_target_placeholder_runs_offline_beside_world_references(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a weight shift whose compare metric says ${target}, and whose listener, rule and load balancer
    # dimension are references to the ALB world (which holds one TargetResponseTime datapoint per target group)
    path = tmp_path / "shift.json"
    path.write_text(json.dumps(alb_shift_judged_by(RESPONSE_TIME)))
    dump = tmp_path / "dump.json"
    # When it runs offline
    argv = ["local", "WeightShiftStateMachine", "--input", str(path), "--given", ALB_GIVEN, "--template", TEMPLATE]
    code = main([*argv, "--dump", str(dump)])
    captured = capsys.readouterr()
    # Then the run is the product's own: the judge filled ${target} with each side's target group and found each
    # side's datapoint, under the load balancer the reference named (too few points to judge, so it rolls back)
    assert (code, captured.err) == (1, ""), captured.err
    result = json.loads(dump.read_text())
    assert (result["status"], result["error"]) == ("FAILED", "CanaryUnhealthy")
    assert "judge: NO_DATA: latency: not enough data (canary 1, stable 1 points)" in result["cause"]
    # the rule the input's references named took the step, then the rollback
    assert [c["count"] for c in result["apiCalls"] if (c["service"], c["operation"]) == ("elbv2", "ModifyRule")] == [2]


def test_the_products_placeholders_pass_through_the_clis_references_unchanged() -> None:
    """Every `${name}` the product fills in itself (in functions/) is not a reference: the CLI never touches it."""
    source = "\n".join(path.read_text() for path in (ROOT / "functions").rglob("*.py"))
    placeholders = set(re.findall(r"\$\{[A-Za-z][A-Za-z0-9]*\}", source))
    assert "${target}" in placeholders
    for placeholder in placeholders:
        template = {"Dimensions": [{"Name": "TargetGroup", "Value": placeholder}], "Label": f"p50 of {placeholder}"}
        assert not has_references(template)
        assert resolve_refs(template, {}) == template
    assert resolve_refs({"Value": "{{given:vpc.Vpc.VpcId}} ${target}"}, {"vpc": {"Vpc": {"VpcId": "vpc-1"}}}) == {
        "Value": "vpc-1 ${target}"
    }


@pytest.mark.parametrize(
    ("change", "line"),
    [
        # a reference in listenerArn and ruleArn: the other fields are still checked before the world is built
        ({"steps": [50, 150]}, "InvalidRolloutInput: steps[1]: Input should be less than or equal to 100"),
        ({"stable": "serviceBv2"}, "InvalidRolloutInput: canary: must differ from stable ('serviceBv2')"),
    ],
)
def test_an_input_with_references_is_checked_before_the_world_is_built_but_for_its_references(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], line: str
) -> None:
    path = tmp_path / "shift.json"
    path.write_text(json.dumps({**alb_shift_judged_by(RESPONSE_TIME), **change}))
    argv = ["local", "WeightShiftStateMachine", "--input", str(path), "--given", ALB_GIVEN, "--template", TEMPLATE]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing built
    assert captured.err == f"mesh-rollout: --input {path}: {line}\n"
