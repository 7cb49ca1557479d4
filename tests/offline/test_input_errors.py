"""Every validation error of an input in one InvalidRolloutInput; an unknown field is answered with the known name
it is closest to (issue 14): as the offline CLI prints it (the parsing itself: tests/unit/test_input_errors.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mesh_rollout_local.cli import main
from tests.conftest import EVENTS, ROOT
from tests.support.inputs import three_mistakes


def test_the_offline_cli_prints_every_problem_on_its_cause_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(three_mistakes()))
    argv = ["local", "WeightShiftStateMachine", "--input", str(bad), "--given", str(EVENTS / "local" / "weight-shift-given.json")]
    assert main([*argv, "--template", str(ROOT / "template.yaml")]) == 2  # refused before the world is built
    assert capsys.readouterr().err == (
        f"mesh-rollout: --input {bad}: InvalidRolloutInput: bakeSeconds: Input should be greater than or equal to 0"
        " | stepPercnt: unknown field; did you mean stepPercent?"
        " | mode: Input should be 'plan' or 'increment'\n"
    )
