"""`mesh-rollout lattice-input`: a CloudFormation template's App Mesh resources as the Lattice rollout's input.

The translation is the Lambda code's own (mesh_rollout.migration.from_cloudformation), and the input it makes is
checked as LatticeRolloutStateMachine's first state checks it, so a mistake shows here, not in a run."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, TextIO


class TemplateMistake(Exception):
    """What the user gave cannot make an input: one line, exit code 2 (the CLI's UserError)."""


def add_parser(commands: Any) -> None:
    command = commands.add_parser(
        "lattice-input",
        help="the Lattice rollout's input from a CloudFormation template holding the mesh (AWS::AppMesh::*)",
    )
    command.add_argument("--template", required=True, help="the CloudFormation template (JSON or YAML, !Ref/!Sub ...)")
    command.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="parameter values (as `aws cloudformation deploy` takes them; defaults otherwise), pseudo parameters "
        "(AWS::AccountId=...), and values the stack would make (LogicalId=... for a Ref, LogicalId.Attribute=... for "
        "a GetAtt)",
    )
    command.add_argument("--lattice", help="the input's `lattice` section (JSON file), as in events/lattice-rollout-apps.json")
    command.add_argument(
        "--ecs-services", help="the input's `ecsServices` (JSON list), instead of the template's AWS::ECS::Service resources"
    )
    command.add_argument("--region", help="AWS::Region (default: AWS_REGION, AWS_DEFAULT_REGION)")
    command.add_argument("--output", help="write the input here instead of stdout")


def _read(option: str, name: str) -> str:
    try:
        return Path(name.removeprefix("file://")).read_text()
    except FileNotFoundError:
        raise TemplateMistake(f"{option} {name}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise TemplateMistake(f"{option} {name}: cannot be read ({exc.__class__.__name__})") from None


def _json(option: str, name: str | None) -> Any:
    if name is None:
        return None
    try:
        return json.loads(_read(option, name))
    except json.JSONDecodeError as exc:
        raise TemplateMistake(f"{option} {name}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def load_template(name: str) -> Any:
    """A CloudFormation template in its JSON form: YAML's short-form intrinsics become their long forms."""
    import yaml

    from mesh_rollout_local.template import CfnLoader

    text = _read("--template", name)
    try:
        return json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=CfnLoader)  # noqa: S506
    except json.JSONDecodeError as exc:
        raise TemplateMistake(f"--template {name}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}" if exc.problem_mark else ""
        raise TemplateMistake(f"--template {name}: not YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise TemplateMistake(f"--template {name}: not YAML: {exc}") from None


def overrides_of(pairs: list[str], region: str | None) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise TemplateMistake(f"--parameter-overrides {pair!r}: not KEY=VALUE")
        overrides[key] = value
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        overrides.setdefault("AWS::Region", region)
    return overrides


def run(args: argparse.Namespace, out: TextIO) -> int:
    template = load_template(args.template)
    lattice, ecs_services = _json("--lattice", args.lattice), _json("--ecs-services", args.ecs_services)
    if ecs_services is not None and not isinstance(ecs_services, list):
        raise TemplateMistake(f"--ecs-services {args.ecs_services}: must be a JSON list")
    from mesh_rollout_local.rollouts import functions_importable

    with functions_importable():
        from mesh_rollout.errors import InvalidRolloutInput
        from mesh_rollout.migration.from_cloudformation import input_from_cloudformation
        from mesh_rollout.migration.plan import parse_lattice_input
        from mesh_rollout.onboarding.plan import build_requests

        try:
            made = input_from_cloudformation(template, overrides_of(args.parameter_overrides, args.region), lattice, ecs_services)
            if lattice is None:
                build_requests(made)
            else:
                parse_lattice_input(made)
        except InvalidRolloutInput as exc:
            raise TemplateMistake(f"{args.template}: {exc}") from None
    text = json.dumps(made, indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise TemplateMistake(f"--output {args.output}: cannot be written ({exc.strerror})") from None
    else:
        out.write(text)
    return 0
