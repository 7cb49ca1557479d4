"""Checking a JSON object against a declared shape without pydantic, for the handler events (mesh_rollout.events).

Handler events are small objects our own state machines write. Importing pydantic and building models would
make every cold start about a quarter slower than boto3 and Powertools alone (issue 13; `make bench`), so an event
is a frozen dataclass, checked here the way pydantic's strict mode checks a model: its annotation says what a field
accepts (str; int, not bool; bool; Any; Literal[...]; X | None; dict[str, X]; list[X]; another Shape), `field()` adds
`min_length` (strings) and `ge` (integers), unknown fields are refused unless the shape allows them
(`unknown = "allow"`, kept by as_dict()). Every problem, in the input's order, is one InvalidRolloutInput naming each
field, in pydantic's words as mesh_rollout.parsing gives them. Rollout inputs, which people write, are pydantic
models (mesh_rollout.parsing).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal, TypeVar, dataclass_transform

from mesh_rollout.errors import InvalidRolloutInput

S = TypeVar("S", bound="Shape")
Location = tuple[int | str, ...]
Check = Callable[[Any, Location], Any]


class Problem(Exception):
    """Values that do not fit, where (inside the event) and why: one, or all those found in a container."""

    def __init__(self, location: Location, message: str, *more: tuple[Location, str]) -> None:
        super().__init__(message)
        self.found = [(location, message), *more]

    @classmethod
    def of(cls, found: list[tuple[Location, str]]) -> Problem:
        return cls(*found[0], *found[1:])


def in_input_order(event: Any, found: list[tuple[Location, str]]) -> list[tuple[Location, str]]:
    """The problems ordered as their fields come in the input (a missing field after those given, in the order
    found); the same problem once."""

    def position(location: Location) -> tuple[int, ...]:
        places, value = [], event
        for part in location:
            if isinstance(value, dict):
                keys = list(value)
                places.append(keys.index(part) if part in value else len(keys))
                value = value.get(part)  # type: ignore[arg-type]
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                places.append(part)
                value = value[part]
            else:
                break
        return tuple(places)

    return sorted(dict.fromkeys(found), key=lambda problem: position(problem[0]))


def closest_name(name: str, known: list[str]) -> str | None:
    """The known name an unknown one was likely meant to be (misspelt, or in another case), if any."""
    import difflib  # only for a refused input: not at every cold start

    by_lower = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


def said_once(found: list[tuple[Location, str]], meant: set[tuple[Any, ...]]) -> list[tuple[Location, str]]:
    """The problems without "Field required" for a field an unknown one was taken to mean: a misspelled required
    field is said once ("canaryy: unknown field; did you mean canary?", not also "canary: Field required")."""
    return [(where, problem) for where, problem in found if not (problem == "Field required" and where in meant)]


def unknown_field(name: str, known: list[str]) -> str:
    """An unknown field's problem: the known name it is closest to, or the known names."""
    closest = closest_name(name, known)
    if closest is not None:
        return f"unknown field; did you mean {closest}?"
    names = sorted(known, key=str.lower)
    shown = ", ".join(names[:12]) + (f" (and {len(names) - 12} more)" if len(names) > 12 else "")
    return f"unknown field; known fields: {shown}"


def raise_problems(event: Any, found: list[tuple[Location, str]], prefix: str = "") -> typing.NoReturn:
    """Every problem found as one InvalidRolloutInput, in the input's order."""
    problems = [(field_path(location, prefix), message) for location, message in in_input_order(event, found)]
    raise InvalidRolloutInput.of(problems) from None


def field_path(location: Location, prefix: str = "") -> str:
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


def require_object(event: Any, prefix: str = "") -> None:
    """Only an object is accepted. An execution input that is a string holding JSON (an object encoded twice) is
    a mistake, refused by name; handler events are objects: Step Functions and EventBridge never send a string."""
    if not isinstance(event, dict):
        hint = " holding a JSON object: pass the object itself, not a string of it" if _holds_object(event) else ""
        raise InvalidRolloutInput(prefix or "(input)", f"must be a JSON object, got {json_type(event)}{hint}")


def _holds_object(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False


def field(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    min_length: int | None = None,
    ge: int | None = None,
    repr: bool = True,
) -> Any:
    """A field with bounds: `min_length` for a string, `ge` for an integer."""
    bounds = {name: value for name, value in (("min_length", min_length), ("ge", ge)) if value is not None}
    return dataclasses.field(default=default, default_factory=default_factory, repr=repr, metadata=bounds)


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field, dataclasses.field))
class Shape:
    """Base of a checked shape: subclasses are frozen, keyword-only dataclasses."""

    unknown: ClassVar[Literal["forbid", "allow"]] = "forbid"
    _checks: ClassVar[dict[str, tuple[Check, bool]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        hints = typing.get_type_hints(cls)
        cls._checks = {}
        for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
            if type(spec.default).__module__.startswith("pydantic"):
                raise TypeError(f"{cls.__name__}.{spec.name}: a pydantic Field in a Shape; use mesh_rollout.shapes.field")
            required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            cls._checks[spec.name] = (_bounded(_check_for(hints[spec.name]), dict(spec.metadata)), required)

    @classmethod
    def parse(cls: type[S], event: Any, prefix: str = "") -> S:
        """The event as this shape, or InvalidRolloutInput naming every field that does not fit."""
        require_object(event, prefix)
        try:
            return cls._from(event, ())
        except Problem as problem:
            raise_problems(event, problem.found, prefix)

    @classmethod
    def _from(cls: type[S], value: Any, location: Location) -> S:
        if not isinstance(value, dict):
            raise Problem(location, f"Input should be a valid dictionary or instance of {cls.__name__}")
        fields, found = {}, []
        for name, (check, required) in cls._checks.items():
            if name in value:
                try:
                    fields[name] = check(value[name], (*location, name))
                except Problem as problem:
                    found.extend(problem.found)
            elif required:
                found.append(((*location, name), "Field required"))
        extra = {key: item for key, item in value.items() if key not in cls._checks}
        if cls.unknown == "forbid":
            found.extend(((*location, key), unknown_field(key, list(cls._checks))) for key in extra)
            found = said_once(found, {(*location, closest_name(key, list(cls._checks))) for key in extra})
        if found:
            raise Problem.of(found)
        shape = cls(**fields)
        object.__setattr__(shape, "_extra", extra)
        return shape

    def as_dict(self) -> dict[str, Any]:
        """Every field (nested shapes as dicts) and, where the shape allows them, the unknown fields it was given."""
        known = {spec.name: _plain(getattr(self, spec.name)) for spec in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {**known, **getattr(self, "_extra", {})}


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, Shape) else value


def _bounded(check: Check, bounds: dict[str, Any]) -> Check:
    if not bounds:
        return check

    def within(value: Any, location: Location) -> Any:
        value = check(value, location)
        least = bounds.get("min_length")
        if least is not None and isinstance(value, str) and len(value) < least:
            raise Problem(location, f"String should have at least {least} character{'s' if least != 1 else ''}")
        if "ge" in bounds and isinstance(value, int) and value < bounds["ge"]:
            raise Problem(location, f"Input should be greater than or equal to {bounds['ge']}")
        return value

    return within


def _of_type(kind: type, name: str) -> Check:
    def check(value: Any, location: Location) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise Problem(location, f"Input should be a valid {name}")
        return value

    return check


def _anything(value: Any, location: Location) -> Any:
    return value


SCALARS: dict[Any, Check] = {
    str: _of_type(str, "string"),
    int: _of_type(int, "integer"),
    bool: _of_type(bool, "boolean"),
    Any: _anything,
}


def _check_for(annotation: Any) -> Check:
    """The check of a field annotated so (its values are rebuilt as pydantic does: new dicts and lists)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in SCALARS:
        return SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, Shape):
        return annotation._from
    if origin is Literal:
        return _literal(args)
    if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
        inner = _check_for(next(arg for arg in args if arg is not type(None)))
        return lambda value, location: None if value is None else inner(value, location)
    if origin is dict and args and args[0] is str:
        return _mapping(_check_for(args[1]))
    if origin is list and args:
        return _sequence(_check_for(args[0]))
    raise TypeError(f"a Shape field cannot be annotated {annotation!r}")


def _literal(allowed: tuple[Any, ...]) -> Check:
    words = [repr(value) for value in allowed]
    expected = " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)

    def check(value: Any, location: Location) -> Any:
        if not any(value == option and type(value) is type(option) for option in allowed):
            raise Problem(location, f"Input should be {expected}")
        return value

    return check


def _mapping(values: Check) -> Check:
    def check(value: Any, location: Location) -> Any:
        if not isinstance(value, dict):
            raise Problem(location, "Input should be a valid dictionary")
        return _each(value.items(), values, location)

    return check


def _sequence(items: Check) -> Check:
    def check(value: Any, location: Location) -> Any:
        if not isinstance(value, list):
            raise Problem(location, "Input should be a valid list")
        return list(_each(enumerate(value), items, location).values())

    return check


def _each(entries: Iterable[tuple[Any, Any]], check: Check, location: Location) -> dict[Any, Any]:
    """Each (key or index, value) checked; every problem among them raised together."""
    checked, found = {}, []
    for key, item in entries:
        try:
            checked[key] = check(item, (*location, key))
        except Problem as problem:
            found.extend(problem.found)
    if found:
        raise Problem.of(found)
    return checked
