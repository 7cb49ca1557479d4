"""`mesh-rollout lattice-input`: the input the README's command makes from AWS's walkthrough template converging
offline (the translation and the command's mistakes: tests/unit/test_lattice_from_cloudformation.py)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from mesh_rollout_local.cli import main
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import ROOT, load_json


def readme_walkthrough() -> tuple[list[str], list[str]]:
    """The README's two commands that move AWS's walkthrough template onto Lattice (arguments after the program), from
    the front page or the reference pages under docs/."""
    text = "\n".join(page.read_text() for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "howto-ecs-basics-3-routing.yaml" in b]
    make, run = (shlex.split(line)[1:] for line in block.replace("\\\n", " ").splitlines())
    return make, run


def test_the_ecs_walkthrough_template_converges_onto_lattice_offline_from_the_readmes_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the walkthrough's services on the mesh (meshed with the command's own output), when the Lattice rollout
    runs on the input the README's command makes from the template, then the mesh's routes are Lattice's and every
    service is attached to its node's target group."""
    make, run = readme_walkthrough()
    assert run[:2] == ["local", "LatticeRolloutStateMachine"]
    given, made = ROOT / run[run.index("--given") + 1], tmp_path / run[run.index("--input") + 1]
    assert make[-2] == "--output"
    monkeypatch.chdir(ROOT)
    assert main([*make[:-1], str(made)]) == 0, capsys.readouterr().err  # --output in tmp_path, not the checkout

    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as account:
        account.apply_given(load_json(given), given.parent)
        result = account.run("LatticeRolloutStateMachine", json.loads(account.resolve_input(made.read_text())))

        assert result.status == "SUCCEEDED", result.cause
        lattice_api = account.client("vpc-lattice")
        groups = {g["id"]: g["name"] for g in lattice_api.list_target_groups()["items"]}
        assert sorted(groups.values()) == ["apps-color-node", "apps-color-v2-node", "apps-front-node"]
        (service,) = lattice_api.list_services()["items"]
        assert service["customDomainName"] == "color.apps.mesh.local"
        (listener,) = lattice_api.list_listeners(serviceIdentifier=service["id"])["items"]
        assert listener["port"] == 8080
        (rule,) = [
            lattice_api.get_rule(serviceIdentifier=service["id"], listenerIdentifier=listener["id"], ruleIdentifier=r["id"])
            for r in lattice_api.list_rules(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])["items"]
            if not r["isDefault"]
        ]
        weights = {groups[t["targetGroupIdentifier"]]: t["weight"] for t in rule["action"]["forward"]["targetGroups"]}
        assert weights == {"apps-color-node": 50, "apps-color-v2-node": 50}
        ecs = account.client("ecs")
        attached = {}
        for found in ecs.describe_services(cluster="apps", services=["color", "color-v2", "front"])["services"]:
            (config,) = found["deployments"][0]["vpcLatticeConfigurations"]
            attached[found["serviceName"]] = groups[config["targetGroupArn"].rsplit("/", 1)[-1]]
        assert attached == {"color": "apps-color-node", "color-v2": "apps-color-v2-node", "front": "apps-front-node"}
