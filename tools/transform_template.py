"""Write what CloudFormation receives after the SAM transform, so cfn-lint checks the expanded resources too.

cfn-lint on the SAM template does not see every intrinsic in its final place (for example a `Fn::Join`
whose delimiter is not a literal string, which CloudFormation rejects at deploy time). Local code paths
become placeholder S3 locations, as `sam package` would make them.

    python tools/transform_template.py template.yaml .aws-sam/transformed.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no AWS managed policies by name, so nothing needs looking up."""

    def load(self) -> dict[str, str]:
        return {}


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri / DefinitionUri paths as the S3 locations `sam package` would upload them to."""
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://placeholder-bucket/{properties[key].strip('./')}"
    function_globals = template.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = "s3://placeholder-bucket/code"
    return template


def main(source: str, target: str) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the transform only needs a Region name
    template = packaged(yaml_parse(Path(source).read_text()))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(transform(template, {}, NoManagedPolicies()), indent=1, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:3])
