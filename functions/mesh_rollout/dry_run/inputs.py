"""The dry run's input: read as the real run reads it and, past its problems, without the fields refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from mesh_rollout.dry_run.report import OK, PROBLEM, WARNING, Findings
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.parsing import problems_of


def read_input(
    raw: Any, found: Findings, model: type[BaseModel], parse: Callable[[Any], Any], check: Callable[[Any], None]
) -> Any:
    """The input as the real run reads it (`parse`); if it has problems, each is one, and the dry run goes on with
    the input without the fields refused (None if what is left is not a `model`): its shape, then `check`, the rules
    between its fields, on what is left."""
    try:
        spec = parse(raw)
    except InvalidRolloutInput as exc:
        for where, problem in exc.problems:
            found.add("input", PROBLEM, f"{where}: {problem}")
    else:
        found.add("input", OK, "the input's form and the rules between its fields")
        return spec
    if not isinstance(raw, dict):
        return None
    trimmed = copy.deepcopy(raw)
    for _ in range(50):
        try:
            spec = model.model_validate(trimmed)
        except ValidationError as exc:
            if not any(drop(trimmed, location) for location, _ in problems_of(exc, model, trimmed)):
                return None
            continue
        with found.catching("input"):  # the rules between fields, on what is left
            check(spec)
        found.add("input", WARNING, "the checks below ran on the input without the fields refused above")
        return spec
    return None


def drop(value: Any, location: tuple[Any, ...]) -> bool:
    """Remove the value at `location` (else the nearest one above it); False if nothing could be removed."""
    for end in range(len(location), 0, -1):
        parent, key = value, location[end - 1]
        for part in location[: end - 1]:
            parent = parent[part] if isinstance(parent, dict | list) else None
        if isinstance(parent, dict) and key in parent:
            del parent[key]
            return True
        if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
            parent.pop(key)
            return True
    return False
