"""`mesh-rollout export-given`: a live route as a --given world and an offline input (the export package), read-only."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from mesh_rollout_local.commands.aws import aws_errors, aws_session
from mesh_rollout_local.commands.common import UserError, json_file


def add_parser(commands: Any) -> None:
    command = commands.add_parser(
        "export-given",
        help="read a weight shift's route in your account (read-only) and write it as a --given world, to rehearse offline",
    )
    command.add_argument("--input", required=True, help="the weight shift's input (JSON file or file://FILE): its route is read")
    command.add_argument("--output", required=True, metavar="WORLD.json", help="write the --given world here")
    command.add_argument(
        "--input-output",
        metavar="OFFLINE-SHIFT.json",
        help="write the input here with its ARNs as {{given:...}} references to the world (an ALB route needs it)",
    )
    command.add_argument("--minutes", type=int, default=15, help="how many minutes of the gate's metrics to copy (default 15)")
    command.add_argument("--region", help="default: AWS_REGION, AWS_DEFAULT_REGION or your AWS config's (the profile's)")
    command.add_argument(
        "--profile", metavar="NAME", help="a named profile of your AWS config and credentials files (default: AWS_PROFILE)"
    )


def run_export(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local.export import ExportError, export_given

    _, text = json_file("--input", args.input)
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise UserError(f"--input {args.input}: a weight shift's input is a JSON object")
    if args.minutes < 1:
        raise UserError("--minutes must be at least 1")
    session = aws_session(args)
    try:
        with aws_errors():
            exported = export_given(session, raw, args.minutes)
    except ExportError as exc:
        raise UserError(f"--input {args.input}: {exc}") from None
    Path(args.output).write_text(json.dumps(exported.world, indent=2, default=str) + "\n")
    written = [f"{len(exported.world)} given calls to {args.output}"]
    offline_input = args.input
    if args.input_output:
        Path(args.input_output).write_text(json.dumps(exported.execution_input, indent=2) + "\n")
        written.append(f"the offline input to {args.input_output}")
        offline_input = args.input_output
    elif exported.execution_input != raw:
        written.append("(its input names ARNs the emulator makes up anew: pass --input-output to write them as references)")
    reads = sum(exported.calls.values())
    print(f"read {reads} times (Describe/Get/List only) in {exported.region}; wrote {', '.join(written)}", file=out)
    print(
        f"rehearse it: mesh-rollout local WeightShiftStateMachine --input {offline_input} --given {args.output}"
        f" --region {exported.region}",
        file=out,
    )
    return 0
