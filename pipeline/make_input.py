"""Write the execution input of a release: a base input plus the build's imagedefinitions.json.

The base is a WeightShiftStateMachine input (pipeline/release-base.json: the route, the canary service, steps,
gate) or an EcsDeploymentStateMachine input (pipeline/ecs-deployment-base.json: cluster, service, ECS's strategy,
gate); either takes the images as `imageDefinitions`, the shape of CodePipeline's imagedefinitions.json, and
registers the new task definition revision from them. A base's own image or revision (`canaryImage`,
`canaryContainer`, `taskDefinition`) gives way to the build's.

CodeBuild runs this after pushing the image (see pipeline/template.yaml); CodePipeline's Step Functions
action then starts the execution with the written file as its input (InputType FilePath).
Standard library only: it runs on any CodeBuild image.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPLACED = ("canaryImage", "canaryContainer", "taskDefinition")  # what the build's images stand for


def release_input(base: dict[str, object], image_definitions: list[dict[str, str]]) -> dict[str, object]:
    if not isinstance(image_definitions, list) or not all({"name", "imageUri"} <= set(d) for d in image_definitions):
        raise ValueError('imagedefinitions.json must be a list of {"name": ..., "imageUri": ...}')
    merged = {k: v for k, v in base.items() if k not in REPLACED}
    merged["imageDefinitions"] = [{"name": d["name"], "imageUri": d["imageUri"]} for d in image_definitions]
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the execution input without the image (weight shift or ECS deployment)")
    parser.add_argument("--image-definitions", required=True, help="imagedefinitions.json written by the build")
    parser.add_argument("--output", required=True, help="the execution input to write")
    args = parser.parse_args(argv)
    merged = release_input(json.loads(Path(args.base).read_text()), json.loads(Path(args.image_definitions).read_text()))
    Path(args.output).write_text(json.dumps(merged, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
