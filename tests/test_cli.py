"""`mesh-rollout local`: output, --dump, --repeat and the exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.cli import main
from tests.conftest import EVENTS, ROOT


def run_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], execution_input: Any, *extra: str
) -> tuple[int, str, dict[str, Any]]:
    input_file = tmp_path / "input.json"
    input_file.write_text(execution_input if isinstance(execution_input, str) else json.dumps(execution_input))
    dump = tmp_path / "dump.json"
    code = main(
        [
            "local",
            "MeshRolloutStateMachine",
            "--input",
            str(input_file),
            "--given",
            str(EVENTS / "local" / "apps-given.json"),
            "--template",
            str(ROOT / "template.yaml"),
            "--dump",
            str(dump),
            *extra,
        ]
    )
    return code, capsys.readouterr().out, json.loads(dump.read_text())


def test_repeat_dumps_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: dict[str, Any]) -> None:
    code, out, dump = run_cli(tmp_path, capsys, scenario, "--repeat", "2")
    assert code == 0
    assert "  -> ValidateRollout" in out and "run 2: SUCCEEDED" in out
    assert "serviceB                   http2Route: serviceB 75, serviceBv2 25" in out
    assert set(dump) == {"status", "output", "error", "cause", "appmesh", "ecs", "vpcLattice", "elbv2", "apiCalls", "states"}
    assert (dump["status"], dump["error"], dump["cause"]) == ("SUCCEEDED", None, None)
    assert {k: len(v) for k, v in dump["appmesh"].items()} == {
        "meshes": 1,
        "virtualServices": 2,
        "virtualNodes": 3,
        "virtualRouters": 1,
        "routes": 1,
    }
    assert dump["appmesh"]["routes"][0]["routeName"] == "serviceB"
    assert len(dump["ecs"]["taskDefinitions"]) == 6 and len(dump["ecs"]["services"]) == 3
    assert {"run": 1, "service": "appmesh", "operation": "CreateMesh", "count": 1} in dump["apiCalls"]
    second_run_ops = {c["operation"] for c in dump["apiCalls"] if c["run"] == 2}
    assert second_run_ops and not {op for op in second_run_ops if op.startswith(("Create", "Update", "Register", "Delete"))}
    assert len(dump["states"]) == 2 and dump["states"][0][0] == "ValidateRollout"


def test_a_failed_run_exits_non_zero_and_still_dumps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, dump = run_cli(tmp_path, capsys, '{"mesh": {}}')
    assert code == 1
    assert "run 1: FAILED" in out and "error: InvalidRolloutInput" in out and "cause: mesh.meshName: Field required" in out
    assert (dump["status"], dump["error"]) == ("FAILED", "InvalidRolloutInput")
    assert dump["states"] == [["ValidateRollout"]]
    assert dump["appmesh"]["meshes"] == []
