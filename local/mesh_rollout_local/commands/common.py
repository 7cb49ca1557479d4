"""What every verb shares: the errors that end a command in one line, its exit codes, the JSON files it reads."""

from __future__ import annotations

import json
from pathlib import Path

INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it


class UserError(Exception):
    """A mistake in what the user gave the command: reported as one line, exit code 2."""


class AwsRefused(Exception):
    """AWS answered a call with an error that is not the user's mistake: one line, exit code 1."""


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
