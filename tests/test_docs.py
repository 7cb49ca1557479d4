"""The README's pictures match the ASL files; every execution input in events/ is valid as-is."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mesh_rollout.migration.plan import LatticeRolloutInput
from mesh_rollout.migration.translate import refuse_unaccepted, translate
from mesh_rollout.onboarding.plan import build_requests
from mesh_rollout.parsing import parse_input
from mesh_rollout.shifting.inputs import WeightShiftSpec, check_spec
from tests.conftest import EVENTS, ROOT


def renderer() -> object:
    spec = importlib.util.spec_from_file_location("render_state_machines", ROOT / "tools" / "render_state_machines.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_state_machine_pictures_are_up_to_date() -> None:
    pictures = renderer().pictures()  # type: ignore[attr-defined]
    machines = ("ecs_service_rollout", "lattice_rollout", "mesh_rollout", "weight_shift")
    assert {p.name for p in pictures} == {f"{name}.svg" for name in machines}
    for path, svg in pictures.items():
        assert path.exists() and path.read_text() == svg, f"{path.name}: run python tools/render_state_machines.py"
        assert path.name in (ROOT / "README.md").read_text()


def test_every_state_in_the_asl_is_drawn() -> None:
    for asl in (ROOT / "statemachine").glob("*.asl.json"):
        svg = (ROOT / "docs" / asl.name.replace(".asl.json", ".svg")).read_text()
        for name in json.loads(asl.read_text())["States"]:
            assert f">{name}</text>" in svg, name


CONSOLE_INPUTS = sorted(EVENTS.glob("*.json"))


@pytest.mark.parametrize("path", CONSOLE_INPUTS, ids=lambda p: p.name)
def test_every_execution_input_in_events_is_valid_as_is(path: Path) -> None:
    raw = json.loads(path.read_text())
    if path.name.startswith("mesh-rollout"):
        build_requests(raw)
    elif path.name.startswith("lattice-rollout"):
        lattice = parse_input({"lattice": raw["lattice"]}, LatticeRolloutInput).lattice.model_dump(exclude_none=True)
        _, requests = build_requests({k: v for k, v in raw.items() if k != "lattice"})
        refuse_unaccepted(translate(requests, lattice)["losses"], lattice["acceptLosses"])
    else:
        assert path.name.startswith("weight-shift")
        check_spec(parse_input(raw, WeightShiftSpec))


def test_there_are_console_inputs_for_both_state_machines() -> None:
    assert [p.name for p in CONSOLE_INPUTS] == [
        "lattice-rollout-apps.json",
        "mesh-rollout-apps.json",
        "weight-shift-alb.json",
        "weight-shift-apps.json",
        "weight-shift-lattice-judged.json",
        "weight-shift-lattice-migrated.json",
        "weight-shift-lattice.json",
        "weight-shift-release.json",
        "weight-shift-step.json",
    ]
