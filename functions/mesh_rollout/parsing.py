"""Parsing an execution input into a pydantic model, with errors that name the field (handler events, which need
no pydantic, are mesh_rollout.events' shapes)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.shapes import field_path, require_object


class Strict(BaseModel):
    """Our own input shapes: unknown fields are errors, parsed values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def parse_input(event: Any, model: type[Model], prefix: str = "") -> Model:
    """Validate with the model; a pydantic error becomes InvalidRolloutInput naming the field.

    Only an object is accepted: an execution input that is a string holding JSON (an object JSON-encoded twice)
    is a mistake, refused here by every state machine alike. (Powertools' parser, used before, validates an object
    just so, but costs its import at every cold start.)"""
    require_object(event, prefix)
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRolloutInput(field_path(tuple(first["loc"]), prefix), first["msg"]) from exc
