"""What the service modules of the emulator share: model-shaped errors and checks against botocore's models."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
from botocore.model import ListShape, Shape, StructureShape
from moto.core.exceptions import JsonRESTError


class ModelError(JsonRESTError):
    """An error of the service model, its code the class's name (the model's error shape)."""

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class NotFoundException(ModelError):
    code = 404


class ConflictException(ModelError):
    code = 409


class BadRequestException(ModelError):
    code = 400


class ValidationException(ModelError):
    code = 400


class ResourceNotFoundException(ModelError):
    code = 404


@functools.cache
def input_shape(service: str, operation: str) -> StructureShape:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    assert shape is not None  # every operation the emulator checks has an input
    return shape


def model_problems(value: Any, shape: Shape, path: str) -> Iterator[str]:
    """Where `value` breaks a rule of the model that AWS checks: required, union, enum, min/max (botocore checks types)."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    counted = isinstance(value, str | list)  # min/max bound a string's or a list's length
    size = len(value) if counted else value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if size is not None and ((low is not None and size < low) or (high is not None and size > high)):
        yield f"{path}: {'length ' if counted else ''}{size} is outside [{low}, {high}]"
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        yield f"{path}: {value!r} is not one of {enum}"
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        yield from (f"{path}.{name}: is required" for name in shape.required_members if name not in value)
        if shape.is_tagged_union and len(value) != 1:
            yield f"{path}: must set exactly one of {sorted(shape.members)}"
        for name, item in value.items():
            if name in shape.members:
                yield from model_problems(item, shape.members[name], f"{path}.{name}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            yield from model_problems(item, shape.member, f"{path}[{index}]")


def checked_against_model(service: str, operation: str, original: Any, error: Callable[[str], JsonRESTError]) -> Any:
    """Wrap a moto response method: its JSON body must follow the model's input shape, else `error` (400)."""

    def handler(self: Any) -> Any:
        shape, body = input_shape(service, operation), json.loads(self.body or "{}")
        payload = {name: member for name, member in shape.members.items() if "location" not in member.serialization}
        problems = [f"{name}: is required" for name in shape.required_members if name in payload and name not in body]
        for name, value in body.items():
            if name in payload:
                problems += model_problems(value, payload[name], name)
        if problems:
            raise error(problems[0])
        return original(self)

    return handler
