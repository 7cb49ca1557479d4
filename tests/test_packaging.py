"""What is deployed is what is tested: the Powertools layer is the release constraints.txt pins."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mesh_rollout_local.template import Template
from tests.conftest import ROOT

POWERTOOLS_LAYER = re.compile(
    r"^\{\{resolve:ssm:/aws/service/powertools/python/(?P<arch>[^/]+)/(?P<runtime>python[0-9.]+)/(?P<release>[^/}]+)\}\}$"
)


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
