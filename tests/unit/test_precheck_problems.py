"""The fast input check (precheck.input_problem) reports every problem it can find in one answer: shape problems
and the rules between fields at once, a reference's unknown name beside them, nothing of a field whose value only
the --given world will tell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh_rollout_local.precheck import given_names, input_problem
from tests.conftest import EVENTS

ALB_SHIFT = json.loads((EVENTS / "weight-shift-alb.json").read_text())  # listenerArn and ruleArn are references
ALB_NAMES = given_names(json.loads((EVENTS / "local" / "alb-given.json").read_text()), EVENTS / "local")


def problems(raw: dict[str, Any], names: set[str] | None = None) -> list[str]:
    answer = input_problem("WeightShiftStateMachine", raw, names)
    assert answer is not None and answer.startswith("InvalidRolloutInput: ")
    return answer.removeprefix("InvalidRolloutInput: ").split(" | ")


def test_shape_problems_and_rules_between_fields_come_in_one_answer() -> None:
    raw = {**ALB_SHIFT, "steps": [50, 150], "bakeSeconds": -1, "stable": "serviceBv2", "approval": {"beforeSteps": [75]}}
    assert problems(raw) == [
        "steps[1]: Input should be less than or equal to 100",
        "bakeSeconds: Input should be greater than or equal to 0",
        "canary: must differ from stable ('serviceBv2')",
    ]


def test_a_field_left_out_for_its_shape_brings_no_problem_of_its_own() -> None:
    # healthGate's shape is wrong: it is left out, and no rule complains that the gate checks nothing
    raw = {**ALB_SHIFT, "healthGate": {"alarmNames": "serviceBv2-5xx"}, "stable": "serviceBv2"}
    assert problems(raw) == [
        "healthGate.alarmNames: Input should be a valid list",
        "canary: must differ from stable ('serviceBv2')",
    ]


def test_references_to_names_the_world_does_not_save_are_problems_beside_the_others() -> None:
    assert ALB_NAMES is not None and {"listener", "rule", "alb"} <= ALB_NAMES
    raw = {
        **ALB_SHIFT,
        "listenerArn": "{{given:listner.Listeners[0].ListenerArn}}",  # a typo in a field holding a reference
        "ruleArn": "{{given:rule.Rules[0].RuleArn}}",  # right
        "steps": [50, 150],
        "stable": "serviceBv2",
    }
    assert problems(raw, ALB_NAMES) == [
        "listenerArn: {{given:listner.Listeners[0].ListenerArn}}: the --given world saves no 'listner'; did you mean listener?",
        "steps[1]: Input should be less than or equal to 100",
        "canary: must differ from stable ('serviceBv2')",
    ]
    # without the world's names, the reference's field is left to the run, the others reported
    assert problems(raw) == [
        "steps[1]: Input should be less than or equal to 100",
        "canary: must differ from stable ('serviceBv2')",
    ]


def test_a_right_input_with_references_has_no_problem() -> None:
    assert input_problem("WeightShiftStateMachine", ALB_SHIFT, ALB_NAMES) is None


def test_the_names_of_a_world_include_its_included_files(tmp_path: Path) -> None:
    (tmp_path / "inner.json").write_text(json.dumps([{"service": "ec2", "operation": "create_vpc", "saveAs": "vpc"}]))
    outer = [{"include": "inner.json"}, {"service": "ecs", "operation": "create_cluster", "saveAs": "cluster"}]
    assert given_names(outer, tmp_path) == {"vpc", "cluster"}
    assert given_names([{"include": "missing.json"}], tmp_path) is None
