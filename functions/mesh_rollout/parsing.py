"""Parsing any input or handler event into a pydantic model, with errors that name the field."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, ValidationError

from mesh_rollout.errors import InvalidRolloutInput


class Strict(BaseModel):
    """Our own input shapes: unknown fields are errors, parsed values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def field_path(location: tuple[int | str, ...], prefix: str = "") -> str:
    """('ecsServices', 0, 'xray') -> 'ecsServices[0].xray'."""
    path = prefix
    for part in location:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else str(part))
    return path or "(input)"


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, with its article: 'a string', 'an array', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"


def parse_input(event: Any, model: type[Model], prefix: str = "") -> Model:
    """Parse with Powertools' parser; a pydantic error becomes InvalidRolloutInput naming the field.

    Only an object is accepted. Powertools' parser would also decode a string holding JSON; an execution
    input that is such a string (an object JSON-encoded twice) is a mistake, refused here by both state
    machines alike. Handler events are objects: Step Functions and EventBridge never send a string."""
    if not isinstance(event, dict):
        hint = " holding a JSON object: pass the object itself, not a string of it" if _holds_object(event) else ""
        raise InvalidRolloutInput(prefix or "(input)", f"must be a JSON object, got {json_type(event)}{hint}")
    try:
        return parse(event=event, model=model)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRolloutInput(field_path(tuple(first["loc"]), prefix), first["msg"]) from exc


def _holds_object(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False
