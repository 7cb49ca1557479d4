"""What every verb shares: the errors that end a command in one line, its exit codes, the JSON files it reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it
DRY_RUN_STATE_MACHINES = ("WeightShiftStateMachine", "EcsDeploymentStateMachine")  # with a dry run ("dryRun": true)
DRY_RUN_FAILED = "DryRunFoundProblems"  # the error of a dry run that found problems; its cause is the report's text


class UserError(Exception):
    """A mistake in what the user gave the command: reported as one line, exit code 2."""


class AwsRefused(Exception):
    """AWS answered a call with an error that is not the user's mistake: one line, exit code 1."""


def has_dry_run(name: str) -> bool:
    """Whether the state machine of this logical ID, or this name, has a dry run: the stack names a state machine
    <LogicalId>-<suffix> (no StateMachineName: CloudFormation generates it, AWS::StepFunctions::StateMachine,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html)."""
    return any(name == logical or name.startswith(f"{logical}-") for logical in DRY_RUN_STATE_MACHINES)


def no_dry_run(state_machine: str) -> str:
    """The one line of --dry-run given with a state machine that has none."""
    return f"--dry-run: {state_machine} has no dry run ({' and '.join(DRY_RUN_STATE_MACHINES)} have one)"


def with_dry_run(option: str, name: str, text: str) -> str:
    """The execution input with `"dryRun": true` (--dry-run): the weight shift or the ECS deployment then checks,
    read-only, everything the run would hit and reports it (functions/mesh_rollout/shifting/dry_run.py,
    functions/mesh_rollout/deploying/dry_run.py)."""
    document = json.loads(text)
    if not isinstance(document, dict):
        raise UserError(f"{option} {name}: --dry-run needs the input to be a JSON object")
    return json.dumps({**document, "dryRun": True})


def dry_run_text(status: str, output: Any, error: str | None, cause: str | None) -> str | None:
    """The dry run's plan as a person reads it: the output's text (ready), or the cause of DryRunFoundProblems."""
    if status == "SUCCEEDED" and isinstance(output, dict) and isinstance(output.get("text"), str):
        return str(output["text"])
    return cause if error == DRY_RUN_FAILED else None


def json_file(option: str, name: str) -> tuple[Path, str]:
    """(path, text) of a JSON file given to `option`; `file://PATH` is taken as the AWS CLI takes it."""
    path = Path(name.removeprefix("file://"))
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{option} {name}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UserError(f"{option} {name}: cannot be read ({exc.__class__.__name__})") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{option} {name}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    return path, text
