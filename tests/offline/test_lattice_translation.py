"""The App Mesh definition as VPC Lattice, on an emulated account: a meshed task definition comes off the mesh (the
pure translation: tests/unit/test_lattice_translation.py)."""

from __future__ import annotations

import json

import pytest

from mesh_rollout.aws.ecs import registrable
from mesh_rollout.errors import IncompatibleTaskDefinition
from mesh_rollout.migration.offmesh import app_port, off_mesh
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT, load_json


def test_a_meshed_task_definition_comes_off_the_mesh_byte_for_byte_but_for_its_port_name() -> None:
    """The guide's taskBv2 after the mesh rollout (Envoy, APPMESH proxy, dependsOn, X-Ray daemon) back to what it was."""
    with OfflineAccount(ROOT / "template.yaml") as account:
        account.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        ecs = account.client("ecs")
        before = ecs.describe_task_definition(taskDefinition="taskBv2:1")["taskDefinition"]
        meshed = ecs.describe_task_definition(taskDefinition="taskBv2:2")["taskDefinition"]
    assert app_port(meshed) == 9080
    request, port_name = off_mesh(meshed, 9080, keep_xray=False)
    expected = registrable(before)
    expected["containerDefinitions"][0]["portMappings"][0]["name"] = "http"
    assert port_name == "http"
    assert json.dumps(request, sort_keys=True) == json.dumps(expected, sort_keys=True)
    kept, _ = off_mesh(meshed, 9080)  # the X-Ray daemon stays unless asked
    assert [c["name"] for c in kept["containerDefinitions"]] == ["app", "xray-daemon"]
    assert "proxyConfiguration" not in kept and all("dependsOn" not in c for c in kept["containerDefinitions"])
    with pytest.raises(IncompatibleTaskDefinition, match="no application container maps TCP port 80"):
        off_mesh(meshed, 80)
