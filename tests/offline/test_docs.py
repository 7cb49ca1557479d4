"""The README's pictures match the ASL files; every execution input in events/ is valid as-is; the README's worked
example runs offline exactly as written; every path it names exists. The README is the front page (README.md) and the
reference pages under docs/: each test reads them all, and every relative link between them resolves."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from mesh_rollout.deploying.inputs import parse_spec as parse_ecs_deployment
from mesh_rollout.grouping.inputs import parse_group
from mesh_rollout.migration.plan import LatticeRolloutInput
from mesh_rollout.migration.translate import refuse_unaccepted, translate
from mesh_rollout.onboarding.plan import build_requests
from mesh_rollout.parsing import parse_input
from mesh_rollout.shifting.inputs import WeightShiftSpec, check_spec
from mesh_rollout_local.cli import main
from tests.conftest import EVENTS, ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def docs_text() -> str:
    """The front page and every reference page, one after the other."""
    return "\n".join(page.read_text() for page in PAGES)


def renderer() -> object:
    spec = importlib.util.spec_from_file_location("render_state_machines", ROOT / "tools" / "render_state_machines.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_state_machine_pictures_are_up_to_date() -> None:
    pictures = renderer().pictures()  # type: ignore[attr-defined]
    machines = ("ecs_deployment", "ecs_service_rollout", "lattice_rollout", "mesh_rollout", "weight_shift")
    assert {p.name for p in pictures} == {f"{name}.svg" for name in machines}
    for path, svg in pictures.items():
        assert path.exists() and path.read_text() == svg, f"{path.name}: run python tools/render_state_machines.py"
        assert path.name in docs_text()


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
    elif path.name.startswith("ecs-deployment"):
        parse_ecs_deployment(raw)
    elif path.name.startswith("lattice-rollout"):
        lattice = parse_input({"lattice": raw["lattice"]}, LatticeRolloutInput).lattice.model_dump(exclude_none=True)
        _, requests = build_requests({k: v for k, v in raw.items() if k != "lattice"})
        refuse_unaccepted(translate(requests, lattice)["losses"], lattice["acceptLosses"])
    elif path.name.startswith("group"):  # WeightShiftStateMachine's input for a group of legs
        parse_group(raw)
    else:
        assert path.name.startswith("weight-shift")
        check_spec(parse_input(raw, WeightShiftSpec))


def test_there_are_console_inputs_for_each_state_machine() -> None:
    assert [p.name for p in CONSOLE_INPUTS] == [
        "ecs-deployment-alb.json",
        "ecs-deployment-canary.json",
        "ecs-deployment-images.json",
        "ecs-deployment-lattice.json",
        "group-ecs-lattice.json",
        "lattice-rollout-apps.json",
        "mesh-rollout-apps.json",
        "weight-shift-alb.json",
        "weight-shift-apps.json",
        "weight-shift-lattice-judged.json",
        "weight-shift-lattice-migrated.json",
        "weight-shift-lattice.json",
        "weight-shift-release-lattice.json",
        "weight-shift-release.json",
        "weight-shift-step.json",
    ]


EXAMPLE_INPUT = ROOT / "examples" / "checkout-shift.json"
EXAMPLE_GIVEN = ROOT / "examples" / "checkout-given.json"


def readme_commands(program: str) -> list[list[str]]:
    """The README's shell commands (front page and docs/) that start with `program` (backslash continuations joined),
    as argv."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", docs_text(), flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line.split("  #", 1)[0])
            if argv and argv[0].endswith(program):
                commands.append(argv)
    return commands


class Terminal(io.StringIO):
    """A newcomer at the approval prompt: stdin is a terminal, and they answer y with no comment."""

    def isatty(self) -> bool:
        return True


def test_the_worked_example_is_valid_as_is() -> None:
    check_spec(parse_input(json.loads(EXAMPLE_INPUT.read_text()), WeightShiftSpec))
    assert isinstance(json.loads(EXAMPLE_GIVEN.read_text()), list)


def test_the_readmes_worked_example_shifts_checkout_to_checkoutv2_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the README's own commands for the example, run from a fresh clone's root
    commands = readme_commands("mesh-rollout")
    example = [argv for argv in commands if "examples/checkout-shift.json" in argv]
    local = [argv for argv in example if argv[1] == "local" and "examples/checkout-given.json" in argv]
    assert any(argv[1] == "start" for argv in example), "the example on AWS: mesh-rollout start"
    assert {"status", "approve"} <= {argv[1] for argv in commands}, "the example on AWS: status and approve"
    assert len(local) >= 2 and any("--approve" in argv for argv in local) and any("--approve" not in argv for argv in local)
    monkeypatch.chdir(ROOT)
    for number, argv in enumerate(local):
        monkeypatch.setattr(sys, "stdin", Terminal("y\n\n"))
        dump = tmp_path / f"dump-{number}.json"
        # When each runs offline
        code = main([*argv[1:], "--dump", str(dump)])
        out = capsys.readouterr().out
        # Then it succeeds with one approval, and the rule forwards everything to checkoutv2
        assert code == 0, out
        result = json.loads(dump.read_text())
        assert result["status"] == "SUCCEEDED"
        assert result["output"]["weights"] == {"checkoutv2": 100}
        assert [step["percent"] for step in result["output"]["steps"]] == [10, 50, 100]
        assert [bool(step["decision"]) for step in result["output"]["steps"]] == [False, False, True]
        rule = next(r for r in result["vpcLattice"]["rules"] if r["name"] == "checkout")
        groups = {g["id"]: g["name"] for g in result["vpcLattice"]["targetGroups"]}
        forward = rule["action"]["forward"]["targetGroups"]
        assert [(groups[t["targetGroupIdentifier"]], t["weight"]) for t in forward] == [("checkoutv2", 100)]
        assert "checkoutv2 100" in out


def test_the_readmes_failure_example_rolls_checkout_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the README's command for the example's world with the canary's alarm in ALARM
    [argv] = [a for a in readme_commands("mesh-rollout") if "examples/checkout-alarm-given.json" in a]
    monkeypatch.chdir(ROOT)
    dump = tmp_path / "dump.json"
    # When it runs offline
    code = main([*argv[1:], "--dump", str(dump)])
    capsys.readouterr()
    # Then the execution fails at the first step and the rule is back at checkout 100 / checkoutv2 0
    result = json.loads(dump.read_text())
    assert (code, result["status"], result["error"]) == (1, "FAILED", "CanaryUnhealthy")
    rule = next(r for r in result["vpcLattice"]["rules"] if r["name"] == "checkout")
    groups = {g["id"]: g["name"] for g in result["vpcLattice"]["targetGroups"]}
    forward = rule["action"]["forward"]["targetGroups"]
    assert [(groups[t["targetGroupIdentifier"]], t["weight"]) for t in forward] == [("checkout", 100), ("checkoutv2", 0)]


def test_every_path_the_readme_names_exists() -> None:
    missing = set()
    for page in PAGES:
        text = page.read_text()
        # links are relative to their page; paths in backticks are named from the repository's root
        links = [page.parent / link for link in re.findall(r"\]\((?!https?://|#)([^)#\s]+)", text)]
        named = re.findall(r"`((?:events|examples|statemachine|functions|local|tests|bench|tools|pipeline|docs)/[\w./-]*)`", text)
        paths = links + [ROOT / path for path in named]
        missing |= {str(path.relative_to(ROOT)) for path in paths if "*" not in str(path) and not path.exists()}
    assert not sorted(missing), sorted(missing)


def test_every_code_fence_is_a_bare_fence() -> None:
    # A fence line with text after it (```` ``` The example … ````) never closes its block, and the rest of the page
    # renders as code: a fence is ``` alone, the opening one optionally with a language.
    bad = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        fences = [(number, line) for number, line in enumerate(lines, 1) if line.lstrip().startswith("```")]
        bad += [f"{page.relative_to(ROOT)}:{n}: {line}" for n, line in fences if not re.fullmatch(r" *```[\w+-]*", line)]
        bad += [f"{page.relative_to(ROOT)}: {len(fences)} fences, one never closes"] if len(fences) % 2 else []
    assert not bad, bad


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub gives a Markdown page: lower case, punctuation dropped, spaces as hyphens, -1, -2 …
    after a repeated heading."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.DOTALL | re.MULTILINE)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, flags=re.MULTILINE):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        anchor = slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        repeat = 0
        while anchor in found:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        found.add(anchor)
    return found


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for page in PAGES:
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.DOTALL | re.MULTILINE)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked_page = (page.parent / path).resolve() if path else page
            if not linked_page.exists() or (anchor and linked_page.suffix == ".md" and anchor not in anchors(linked_page)):
                broken.append(f"{page.relative_to(ROOT)}: ({target})")
    assert not broken, broken
    # and a newcomer who opens only the front page finds every reference page from it
    front = ROOT / "README.md"
    from_front = {(ROOT / link.partition("#")[0]).resolve() for link in re.findall(r"\]\((docs/[^)\s]+)\)", front.read_text())}
    assert not [page.name for page in PAGES[1:] if page.resolve() not in from_front]


def test_the_readmes_ecs_deployment_runs_offline_on_alb_and_lattice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the README's offline commands for the ECS-native deployment, one per world
    local = [a for a in readme_commands("mesh-rollout") if a[1:3] == ["local", "EcsDeploymentStateMachine"]]
    worlds = sorted(argv[argv.index("--given") + 1] for argv in local)
    assert worlds == ["events/local/ecs-deployment-alb-given.json", "events/local/ecs-deployment-lattice-given.json"]
    assert any(a[1:3] == ["start", "EcsDeploymentStateMachine"] for a in readme_commands("mesh-rollout"))
    monkeypatch.chdir(ROOT)
    for number, argv in enumerate(local):
        dump = tmp_path / f"dump-{number}.json"
        # When each runs as written (approving before 100 %)
        code = main([*argv[1:], "--dump", str(dump)])
        out = capsys.readouterr().out
        # Then ECS took each LINEAR step, judged and continued by us, and the new revision has all the traffic
        assert code == 0, out
        result = json.loads(dump.read_text())
        assert (result["status"], result["output"]["outcome"]) == ("SUCCEEDED", "SUCCEEDED")
        assert [step["percent"] for step in result["output"]["steps"]] == [0, 20, 40, 60, 80, 100]
        assert "checkout-blue 80, checkout-green 20 (PRE_PRODUCTION_TRAFFIC_SHIFT)" in out
        assert "checkout-blue 0, checkout-green 100" in out


def test_the_readmes_group_moves_three_legs_with_one_approval_and_its_failure_puts_every_rule_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the README's offline command for the group of three legs, and the same with the world where frontend fails
    local = [a for a in readme_commands("mesh-rollout") if a[1:2] == ["local"] and "examples/shop-group.json" in a]
    assert local and all(argv == local[0] for argv in local) and "--approve" in local[0]  # the front page and docs/groups.md
    failing = [*local[0][1:]]
    failing[failing.index("--given") + 1] = "examples/shop-group-frontend-fails-given.json"
    monkeypatch.chdir(ROOT)
    outcomes = []
    for number, argv in enumerate([local[0][1:], failing]):
        dump = tmp_path / f"dump-{number}.json"
        # When each runs as written
        code = main([*argv, "--dump", str(dump)])
        out = capsys.readouterr().out
        outcomes.append((code, json.loads(dump.read_text()), out))
    (ok, moved, out), (failed, rolled_back, failed_out) = outcomes
    # Then the group asked once and moved every leg to its canary; the failure named frontend and put every rule back
    assert ok == 0 and moved["status"] == "SUCCEEDED", out
    assert out.count("? approval") == 1
    for rule in ("ALB shop-frontend:80/rule 10                 frontendv2 100", "checkoutv2 100", "paymentsv2 100"):
        assert rule in out
    assert failed == 1 and rolled_back["error"] == "CanaryUnhealthy"
    assert rolled_back["cause"].startswith("at 50%: leg frontend: UNHEALTHY: judge: FAIL")
    for rule in ("frontend 100, frontendv2 0", "checkout 100, checkoutv2 0", "payments 100, paymentsv2 0"):
        assert rule in failed_out
