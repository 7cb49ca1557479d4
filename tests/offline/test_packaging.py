"""What is installed and deployed is what is tested: the Powertools layer, the CLI's declared dependencies and the
template the CLI finds from any directory."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mesh_rollout_local import template as template_module
from mesh_rollout_local.cli import main
from mesh_rollout_local.template import Template, default_template
from tests.conftest import EVENTS, ROOT

POWERTOOLS_LAYER = re.compile(
    r"^\{\{resolve:ssm:/aws/service/powertools/python/(?P<arch>[^/]+)/(?P<runtime>python[0-9.]+)/(?P<release>[^/}]+)\}\}$"
)
OUR_PACKAGES = {"mesh_rollout", "mesh_rollout_local", "handlers"}


def pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines of a requirements or constraints file."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {line} is not an exact pin"
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def declared_dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def test_the_powertools_layer_deployed_is_the_release_the_tests_run() -> None:
    body = Template(ROOT / "template.yaml").body
    function_globals = body["Globals"]["Function"]
    (layer,) = function_globals["Layers"]
    match = POWERTOOLS_LAYER.match(layer)
    assert match, f"{layer} is not the public SSM parameter of one Powertools release"
    tested = pins(ROOT / "constraints.txt")["aws-lambda-powertools"]
    assert match["release"] == tested == version("aws-lambda-powertools")
    assert [match["arch"]] == function_globals["Architectures"]
    assert match["runtime"] == function_globals["Runtime"]
    for logical_id, resource in body["Resources"].items():
        assert "Layers" not in resource.get("Properties", {}), f"{logical_id} adds layers of its own"


def test_every_declared_dependency_is_pinned_as_constraints_txt_pins_it() -> None:
    constraints = pins(ROOT / "constraints.txt")
    for requirement in declared_dependencies():
        (specifier,) = requirement.specifier
        assert (specifier.operator, specifier.version) == ("==", constraints[canonicalize_name(requirement.name)]), (
            f"pyproject.toml: {requirement}"
        )
    for name, pinned in pins(ROOT / "requirements-dev.txt").items():
        assert constraints[name] == pinned, f"requirements-dev.txt: {name}=={pinned}"


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the tree but those under `if TYPE_CHECKING:` (type checkers read them; nothing imports them)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def third_party_imports(*folders: Path) -> set[str]:
    """Top-level modules the code under the folders imports when it runs, less the standard library and our own."""
    modules: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            for node in runtime_nodes(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - OUR_PACKAGES - {"__future__"}


def test_pyproject_declares_what_the_cli_and_the_handlers_it_runs_import() -> None:
    declared = {canonicalize_name(requirement.name) for requirement in declared_dependencies()}
    distributions = packages_distributions()
    for module in sorted(third_party_imports(ROOT / "local" / "mesh_rollout_local", ROOT / "functions")):
        owners = {canonicalize_name(name) for name in distributions.get(module, [])}
        assert owners & declared, f"{module} is imported but no dependency in pyproject.toml provides it"


def test_the_cli_finds_the_checkouts_template_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a directory without a template.yaml and a malformed input there, named relative to it
    monkeypatch.chdir(tmp_path)
    Path("input.json").write_text("{")
    # When the CLI runs without --template
    code = main(["local", "MeshRolloutStateMachine", "--input", "input.json"])
    # Then it found the checkout's template (the state machine is known) and read the input from the current directory
    assert code == 2
    assert capsys.readouterr().err.splitlines()[0].startswith("mesh-rollout: --input input.json: not JSON")
    assert default_template() == ROOT / "template.yaml"


def test_a_template_yaml_in_the_current_directory_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("template.yaml").write_text("Resources: {}\n")
    assert default_template() == Path("template.yaml")


def test_without_any_template_the_cli_says_to_pass_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(template_module, "__file__", str(tmp_path / "site-packages" / "mesh_rollout_local" / "template.py"))
    assert main(["local", "MeshRolloutStateMachine", "--input", str(EVENTS / "mesh-rollout-apps.json")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "mesh-rollout: no template.yaml here or in the checkout mesh-rollout is installed from: pass --template "
        "PATH/template.yaml"
    ]
