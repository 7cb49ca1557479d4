"""Handler event shapes (mesh_rollout.shapes) accept, refuse and word their first problem as the pydantic strict
models they replaced did."""

from __future__ import annotations

import itertools
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.events.execution_status_change import ExecutionStatusChangeEvent
from mesh_rollout.parsing import parse_input
from mesh_rollout.shapes import Shape, field


class Inner(Shape):
    unknown = "allow"
    name: str
    state: Literal["RUNNING", "FAILED"]


class Event(Shape):
    executionArn: str | None = None
    kind: Literal["network", "targetGroups", "service"]
    lockId: str = field(min_length=1)
    roleArn: str = field(default="arn:aws:iam::123456789012:role/x", min_length=20)
    seconds: int = field(ge=60)
    checks: int = field(default=0, ge=0)
    locked: bool = False
    rollout: Any = None
    route: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, int] | None = None
    groups: list[dict[str, Any]] | None = None
    inner: Inner | None = None


class Pydantic:
    """The same shapes as pydantic models (same class names: pydantic's messages name them)."""

    class Inner(BaseModel):
        model_config = ConfigDict(extra="allow", frozen=True)
        name: StrictStr
        state: Literal["RUNNING", "FAILED"]

    class Event(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        executionArn: StrictStr | None = None
        kind: Literal["network", "targetGroups", "service"]
        lockId: StrictStr = Field(min_length=1)
        roleArn: StrictStr = Field(default="arn:aws:iam::123456789012:role/x", min_length=20)
        seconds: StrictInt = Field(ge=60)
        checks: StrictInt = Field(default=0, ge=0)
        locked: StrictBool = False
        rollout: Any = None
        route: dict[str, Any] = Field(default_factory=dict)
        weights: dict[str, StrictInt] | None = None
        groups: list[dict[str, Any]] | None = None
        inner: Inner | None = None


GOOD = {"kind": "service", "lockId": "l", "seconds": 60}
VARIANTS: dict[str, list[Any]] = {
    "executionArn": [None, "arn", 1],
    "kind": ["network", "services", 1, None],
    "lockId": ["", "x", 3, True],
    "roleArn": ["short", "x" * 20],
    "seconds": [59, 60, 60.0, True, "60"],
    "checks": [-1, 5, False],
    "locked": [True, 1, "true"],
    "rollout": [{"any": ["thing"]}, "text"],
    "route": [{}, {"a": {"b": 1}}, [], None],
    "weights": [{"a": 1}, {"a": "1"}, {"a": True}, [1]],
    "groups": [[{"a": 1}], [1], {}],
    "inner": [{"name": "n", "state": "FAILED", "more": 1}, {"name": "n", "state": "DONE"}, {"state": "RUNNING"}, "x"],
    "unknownField": [1],
}


def outcome(parse: Any, event: dict[str, Any]) -> tuple[str, Any]:
    try:
        parsed = parse(event)
    except InvalidRolloutInput as refused:
        return "refused", str(refused)
    return "parsed", parsed.model_dump() if isinstance(parsed, BaseModel) else parsed.as_dict()


@pytest.mark.parametrize("name", VARIANTS)
def test_each_field_is_checked_and_worded_as_pydantic_strict_mode(name: str) -> None:
    for value in VARIANTS[name]:
        event = {**GOOD, name: value}
        assert outcome(Event.parse, event) == outcome(lambda e: parse_input(e, Pydantic.Event), event), event


def test_missing_fields_and_the_first_problem_in_field_order() -> None:
    for dropped in itertools.combinations(GOOD, 2):
        event = {key: value for key, value in GOOD.items() if key not in dropped} | {"checks": -1, "extra": 1}
        assert outcome(Event.parse, event) == outcome(lambda e: parse_input(e, Pydantic.Event), event), event


def test_a_shape_is_frozen_its_containers_are_copies_and_a_non_object_is_refused_by_name() -> None:
    route = {"a": 1}
    parsed = Event.parse({**GOOD, "route": route, "inner": {"name": "n", "state": "RUNNING", "more": 1}})
    assert parsed.route == route and parsed.route is not route
    assert parsed.inner is not None and parsed.inner.as_dict() == {"name": "n", "state": "RUNNING", "more": 1}
    with pytest.raises(AttributeError):
        parsed.lockId = "other"  # type: ignore[misc]
    with pytest.raises(InvalidRolloutInput, match=r"^\(input\): must be a JSON object, got a string holding a JSON object"):
        Event.parse('{"kind": "service"}')


def test_eventbridge_keeps_the_detail_fields_it_does_not_name() -> None:
    detail = {"executionArn": "e", "stateMachineArn": "s", "status": "ABORTED", "input": "{}", "name": "n"}
    parsed = ExecutionStatusChangeEvent.parse({"source": "aws.states", "detail-type": "x", "detail": detail})
    assert parsed.detail.as_dict() == {**detail, "error": None, "cause": None}


def test_a_shape_refuses_what_it_cannot_check() -> None:
    with pytest.raises(TypeError, match="cannot be annotated"):

        class Tupled(Shape):
            pair: tuple[int, int]

    with pytest.raises(TypeError, match="a pydantic Field in a Shape"):

        class Mixed(Shape):
            name: str = Field(min_length=1)
