"""Parsing an execution input into a pydantic model, with errors that name the field (handler events, which need
no pydantic, are mesh_rollout.events' shapes)."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from mesh_rollout.shapes import Location, closest_name, raise_problems, require_object, said_once, unknown_field


class Strict(BaseModel):
    """Our own input shapes: unknown fields are errors, parsed values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def parse_input(event: Any, model: type[Model], prefix: str = "") -> Model:
    """Validate with the model; pydantic's errors become one InvalidRolloutInput naming every field, in the
    input's order.

    Only an object is accepted: an execution input that is a string holding JSON (an object JSON-encoded twice)
    is a mistake, refused here by every state machine alike. (Powertools' parser, used before, validates an object
    just so, but costs its import at every cold start.)"""
    require_object(event, prefix)
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise_problems(event, problems_of(exc, model, event), prefix)


def problems_of(exc: ValidationError, model: type[BaseModel], event: Any) -> list[tuple[Location, str]]:
    """(location in the input, problem) for each field pydantic refused: one problem per field, an unknown field
    with the known name it is closest to."""
    by_location: dict[Location, list[ErrorDetails]] = {}
    for error in exc.errors():
        location = _input_location(tuple(error["loc"]), event, error["type"])
        by_location.setdefault(location, []).append(error)
    found, suggested = [], set()
    for location, errors in by_location.items():
        if errors[0]["type"] == "extra_forbidden":
            known = _model_at(model, location[:-1])
            found.append((location, unknown_field(str(location[-1]), list(known.model_fields)) if known else errors[0]["msg"]))
            closest = closest_name(str(location[-1]), list(known.model_fields)) if known else None
            suggested.add((*location[:-1], closest))
        else:
            found.append((location, _one_problem(errors)))
    return said_once(found, suggested)


def _input_location(loc: Location, event: Any, kind: str) -> Location:
    """pydantic's location without the union members it names ('threshold', 'int'): only what is in the input,
    and a missing field's name."""
    kept: list[int | str] = []
    value = event
    for index, part in enumerate(loc):
        inside = (isinstance(value, dict) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        )
        if inside:
            kept.append(part)
            value = value[part]
        elif kind == "missing" and index == len(loc) - 1:
            kept.append(part)
    return tuple(kept)


def _one_problem(errors: list[ErrorDetails]) -> str:
    """The most useful of the union members' errors at one field: a bound the value's type has (it had that
    type) over a type it does not have; a number over an integer; else each type the field takes."""
    bounds = [e for e in errors if not e["type"].endswith("_type")]
    if bounds:
        return str(bounds[0]["msg"])
    types_ = {e["type"] for e in errors}
    kept = [e for e in errors if not (e["type"] == "int_type" and "float_type" in types_)]
    messages = list(dict.fromkeys(str(e["msg"]) for e in kept))
    return messages[0] + "".join(f" or {m.removeprefix('Input should be ')}" for m in messages[1:])


def _model_at(model: type[BaseModel], location: Location) -> type[BaseModel] | None:
    """The model whose fields are at this location of the input (None if no model is)."""
    current: Any = model
    for part in location:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            current = info.annotation if info else None
        else:
            current = _inner(current)
        current = _unwrapped(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrapped(annotation: Any) -> Any:
    """X | None -> X; Annotated[X, ...] -> X."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _unwrapped(args[0])
    if origin in (types.UnionType, typing.Union):
        choices = [arg for arg in args if arg is not type(None)]
        return _unwrapped(choices[0]) if len(choices) == 1 else annotation
    return annotation


def _inner(annotation: Any) -> Any:
    """The type of a list's items or a dict's values."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None
