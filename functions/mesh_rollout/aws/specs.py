"""Check requests against botocore's service model and compare specs the way AWS stores them."""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.shapes import closest_name

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (str, int, float),
    "blob": (str, bytes),
}


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def input_shape(service: str, operation: str) -> StructureShape:
    shape = operation_model(service, operation).input_shape
    if shape is None:
        raise ValueError(f"{service}.{operation} has no input")
    return shape


def model_problems(value: Any, shape: Shape, path: str) -> list[tuple[str, str]]:
    """Every (field, problem) where value breaks the shape: type, required, unknown, enum, bounds, union."""
    problems: list[tuple[str, str]] = []
    _walk(value, shape, path, problems)
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(value: Any, shape: Shape, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(shape, StructureShape):
        _walk_structure(value, shape, path, out)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            out.append((path, f"must be a list, got {type(value).__name__}"))
            return
        _check_bounds(len(value), shape, path, "items", out)
        for index, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{index}]", out)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            out.append((path, f"must be an object, got {type(value).__name__}"))
            return
        for key, item in value.items():
            _walk(item, shape.value, f"{path}.{key}", out)
    else:
        _walk_scalar(value, shape, path, out)


def _walk_structure(value: Any, shape: StructureShape, path: str, out: list[tuple[str, str]]) -> None:
    if not isinstance(value, dict):
        out.append((path, f"must be an object, got {type(value).__name__}"))
        return
    members = shape.members
    out.extend((_join(path, name), "is required") for name in shape.required_members if name not in value)
    for key, item in value.items():
        if key not in members:
            out.append((_join(path, key), f"is not a field of {shape.name}; {_known_member(key, list(members))}"))
        else:
            _walk(item, members[key], _join(path, key), out)
    if shape.metadata.get("union") and len(value) != 1:
        out.append((path, f"must set exactly one of {sorted(members)}, got {sorted(value)}"))


def _walk_scalar(value: Any, shape: Any, path: str, out: list[tuple[str, str]]) -> None:
    kind = shape.type_name
    expected = _PY_TYPES.get(kind)
    if expected is None:
        return
    if (isinstance(value, bool) and kind != "boolean") or not isinstance(value, expected):
        out.append((path, f"must be a {kind}, got {value!r}"))
        return
    if kind == "string":
        if shape.enum and value not in shape.enum:
            out.append((path, f"must be one of {shape.enum}, got {value!r}"))
        _check_bounds(len(str(value)), shape, path, "characters", out)
    elif kind in ("integer", "long", "double", "float"):
        _check_bounds(value, shape, path, None, out)


def _check_bounds(amount: Any, shape: Shape, path: str, unit: str | None, out: list[tuple[str, str]]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    what = f"{amount} {unit}" if unit else str(amount)
    if low is not None and amount < low:
        out.append((path, f"{what} is below the minimum {low}"))
    if high is not None and amount > high:
        out.append((path, f"{what} is above the maximum {high}"))


def _known_member(key: str, members: list[str]) -> str:
    closest = closest_name(key, members)
    return f"did you mean {closest}?" if closest is not None else f"expected one of {sorted(members)}"


def request_problems(service: str, operation: str, request: dict[str, Any], field: str) -> list[tuple[str, str]]:
    """Every (field, problem) of `request` that the API model rejects, each naming the request."""
    return [
        (where, f"{problem} [{operation} request]")
        for where, problem in model_problems(request, input_shape(service, operation), field)
    ]


def check_request(service: str, operation: str, request: dict[str, Any], field: str) -> None:
    """Raise InvalidRolloutInput naming every field of `request` that the API model rejects."""
    problems = request_problems(service, operation, request, field)
    if problems:
        raise InvalidRolloutInput.of(problems)


def strip_empty(value: Any) -> Any:
    """Drop None, empty objects and empty lists, which AWS treats as absent."""
    if isinstance(value, dict):
        cleaned = {k: strip_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [strip_empty(v) for v in value]
    return value


def merge_defaults(value: Any, defaults: Any) -> Any:
    """Fill in the server-side defaults AWS returns for fields the request left out."""
    if not isinstance(value, dict) or not isinstance(defaults, dict):
        return value
    merged = dict(value)
    for key, default in defaults.items():
        merged[key] = merge_defaults(merged[key], default) if key in merged else default
    return merged


def same_spec(desired: Any, current: Any, defaults: dict[str, Any] | None = None) -> bool:
    """True when AWS already holds `desired` (modulo server defaults and empty fields)."""
    defaults = defaults or {}
    return bool(strip_empty(merge_defaults(desired, defaults)) == strip_empty(merge_defaults(current, defaults)))
