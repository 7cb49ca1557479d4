"""The contract between each Task that runs one of our functions and the states after it: every JSONPath a later state
reads from the Task's ResultPath (ResultPath `$.health`, then a Choice reads `$.health.state`) is a key path of the
result type the function's handler declares (a TypedDict, read with typing.get_type_hints).

The ASL files are read when the test runs (they change under other work). A Task whose Resource is a service
integration (DynamoDB, a nested execution, `lambda:invoke.waitForTaskToken`, whose result is what the approver sends,
not what the function returns) is not one of our functions' results and is left out.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from mesh_rollout_local.template import Template
from tests.conftest import ROOT

ASL_FILES = sorted((ROOT / "statemachine").glob("*.asl.json"))
# Fields whose value is a JSONPath (or a reference path) read from the state's input.
PATH_FIELDS = (
    "InputPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "Variable",
)
CHOICE_PATH_OPERATORS = re.compile(r".+Path$")  # StringEqualsPath, NumericGreaterThanPath ...
# A reference path inside a string: a value ending in `.$` is a path or an intrinsic function whose arguments may be paths.
PATH_IN_TEXT = re.compile(r"(?<![\w$])\$(?:\.[A-Za-z_][\w-]*|\[\d+\])*")


def handler_result_types() -> dict[str, Any]:
    """{DefinitionSubstitutions name: the return annotation of that function's handler} for every state machine."""
    template = Template(ROOT / "template.yaml")
    found: dict[str, Any] = {}
    for machine in template.state_machines.values():
        for name, value in machine.substitutions.items():
            if not isinstance(value, dict) or "Fn::GetAtt" not in value:
                continue
            logical_id, _ = value["Fn::GetAtt"]
            if logical_id not in template.functions:
                continue
            module_name, _, attribute = template.functions[logical_id].handler.rpartition(".")
            module = importlib.import_module(module_name)
            handler = unwrapped(getattr(module, attribute))
            found[name] = get_type_hints(handler, localns=type_checking_names(module))["return"]
    return found


def unwrapped(function: Any) -> Any:
    """The handler under Powertools' and our decorators (they keep __wrapped__)."""
    while hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    return function


def type_checking_names(module: types.ModuleType) -> dict[str, Any]:
    """What the module imports under `if TYPE_CHECKING:` (a planner's result type: the planner is imported lazily)."""
    names: dict[str, Any] = {}
    for node in ast.parse(Path(str(module.__file__)).read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            exec(compile(ast.Module(body=node.body, type_ignores=[]), str(module.__file__), "exec"), names)
    return names


def scopes(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each set of states that share one input document: the top level, each Parallel branch, each Map's processor."""
    yield definition
    for state in definition["States"].values():
        for inner in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            yield from scopes(inner)


def paths_in(value: Any) -> Iterator[str]:
    """The reference paths in a Parameters / ItemSelector document (keys ending in `.$`), intrinsics' arguments included."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$") and isinstance(inner, str):
                yield from PATH_IN_TEXT.findall(inner)
            else:
                yield from paths_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from paths_in(inner)


def choice_paths(rule: dict[str, Any]) -> Iterator[str]:
    if "Variable" in rule:
        yield rule["Variable"]
    for key, value in rule.items():
        if CHOICE_PATH_OPERATORS.fullmatch(key) and isinstance(value, str) and key != "Variable":
            yield value
    for inner in [*rule.get("And", []), *rule.get("Or", []), *([rule["Not"]] if "Not" in rule else [])]:
        yield from choice_paths(inner)


def reads(state: dict[str, Any]) -> Iterator[str]:
    """The paths a state reads from its input: its path fields, Parameters, a Map's ItemSelector, a Choice's rules;
    a Parallel's branches read the Parallel's input (their own states, up to the first that writes over it)."""
    for field in PATH_FIELDS:
        if isinstance(state.get(field), str):  # a path, or an intrinsic function of paths (CausePath)
            yield from PATH_IN_TEXT.findall(state[field])
    yield from paths_in(state.get("Parameters", {}))
    yield from paths_in(state.get("ItemSelector", {}))
    for rule in state.get("Choices", []):
        yield from choice_paths(rule)
    for branch in state.get("Branches", []):
        for inner in branch["States"].values():
            yield from reads(inner)


def written(state: dict[str, Any]) -> str | None:
    """The path a state writes its result to (None: it writes nothing, the input passes through)."""
    if state["Type"] in ("Choice", "Wait", "Succeed", "Fail"):
        return None
    if state["Type"] == "Pass" and not {"Parameters", "Result"} & set(state):
        return None
    result_path: str | None = state.get("ResultPath", "$")  # null: the result is discarded
    return result_path


def writes_of(state: dict[str, Any]) -> Iterator[str]:
    """The paths a state and its Catches write (on any way out of it)."""
    if (target := written(state)) is not None:
        yield target
    yield from (catch.get("ResultPath", "$") for catch in state.get("Catch", []))


def under(path: str, prefix: str) -> bool:
    return prefix == "$" or path == prefix or path.startswith((prefix + ".", prefix + "["))


def successors(state: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(next state, the path the transition writes: a Catch's ResultPath, `$` by default, or None)."""
    for name in [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Choices", []))]:
        if name:
            yield name, None
    for catch in state.get("Catch", []):
        yield catch["Next"], catch.get("ResultPath", "$")


@dataclass(frozen=True)
class Read:
    state: str
    path: str  # the path as the state reads it
    relative: str  # the same path from the Task's result


def reads_of_result(scope: dict[str, Any], task: str) -> Iterator[Read]:
    """Every read of a path under the Task's ResultPath, in a state reachable from `task` while the Task's result is
    still where it wrote it, unless every way there has written that path again since (a later Task's or a Catch's
    ResultPath under it)."""
    states = scope["States"]
    result_path = written(states[task])
    assert result_path is not None
    # {state: the paths under the ResultPath written on every way from the Task to it}
    rewritten: dict[str, frozenset[str]] = {}
    todo = [(states[task]["Next"], frozenset[str]())] if "Next" in states[task] else []
    while todo:
        name, writes = todo.pop()
        if name in rewritten and rewritten[name] <= writes:
            continue
        writes = rewritten[name] & writes if name in rewritten else writes
        rewritten[name] = writes
        state = states[name]
        if "OutputPath" in state and state["OutputPath"] != "$":
            continue  # the output is reshaped: the Task's result is no longer where it was written
        target = written(state)
        for following, catch_writes in successors(state):
            after = catch_writes if catch_writes is not None else target
            if after is not None and under(result_path, after):
                continue  # written over
            todo.append((following, writes | {after} if after is not None else writes))
    # A path under the ResultPath that another state or Catch writes somewhere in the scope is read from that writer,
    # whichever ran last (`$.releaseRevision` after a plan written to `$`: RegisterRelease's, which a Choice on the plan's
    # `release.pending` guards; a data-dependent guard this walk does not follow).
    elsewhere = {w for s in states.values() for w in writes_of(s) if w != result_path and under(w, result_path)}
    for name, writes in rewritten.items():
        for path in reads(states[name]):
            if path.startswith("$$") or not under(path, result_path):
                continue
            if any(under(path, w) or under(w, path) for w in writes | elsewhere):  # written there, or below it
                continue
            yield Read(name, path, "$" + path[len(result_path) :] if result_path != "$" else path)


def segments(path: str) -> list[str | int]:
    return [int(index) if index else key for key, index in re.findall(r"\.([\w-]+)|\[(\d+)\]", path)]


def resolves(annotation: Any, keys: list[str | int]) -> bool:
    """Whether `keys` is a key path of a value of type `annotation` (Any, a plain dict or an object: not checked further)."""
    if not keys:
        return True
    if annotation is Any or annotation is object:
        return True
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(resolves(member, keys) for member in get_args(annotation) if member is not type(None))
    if origin in (typing.Required, typing.NotRequired):
        return resolves(get_args(annotation)[0], keys)
    head, rest = keys[0], keys[1:]
    if is_typeddict(annotation):
        hints = get_type_hints(annotation)
        return isinstance(head, str) and head in hints and resolves(hints[head], rest)
    if origin in (dict, typing.Mapping) or annotation is dict:
        return isinstance(head, str)  # keys the type does not name (a map from names to values)
    if origin in (list, tuple) or annotation in (list, tuple):
        return isinstance(head, int) and resolves((get_args(annotation) or (Any,))[0], rest)
    return False


def shape_of(state: dict[str, Any], result_type: Any) -> Any:
    """What the Task writes at its ResultPath: the handler's result, or what its ResultSelector makes of it."""
    selector = state.get("ResultSelector")
    if selector is None:
        return result_type
    return typing.TypedDict(  # type: ignore[operator]
        "Selected", {key.removesuffix(".$"): Any for key in selector}
    )


def contracts() -> Iterator[tuple[str, str, str, dict[str, Any], Any]]:
    """(file, scope's StartAt, Task name, scope, the handler's result type) for every Task that runs one of our functions."""
    results = handler_result_types()
    for path in sorted((ROOT / "statemachine").glob("*.asl.json")):
        definition = json.loads(path.read_text())
        for scope in scopes(definition):
            for name, state in scope["States"].items():
                placeholder = re.fullmatch(r"\$\{(\w+)\}", state.get("Resource", "") if state["Type"] == "Task" else "")
                if placeholder and placeholder.group(1) in results and written(state) is not None:
                    yield path.name, scope["StartAt"], name, scope, results[placeholder.group(1)]


def test_every_handler_declares_its_result() -> None:
    """Each function a state machine runs returns a declared type, not a bare dict."""
    for name, annotation in handler_result_types().items():
        members = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
        assert all(is_typeddict(m) for m in members), f"{name}: {annotation} is not a TypedDict (or a union of them)"


def test_the_contracts_cover_the_state_machines() -> None:
    files = {file for file, *_ in contracts()}
    assert files == {p.name for p in ASL_FILES}
    assert sum(1 for _ in contracts()) >= 40


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_path_read_from_a_task_result_is_in_the_handlers_result_type(path: Path) -> None:
    missing = []
    for file, _, task, scope, result_type in contracts():
        if file != path.name:
            continue
        state = scope["States"][task]
        for selected in paths_in(state.get("ResultSelector", {})):
            if not selected.startswith("$$") and not resolves(result_type, segments(selected)):
                missing.append(f"{task}'s ResultSelector reads {selected}")
        shape = shape_of(state, result_type)
        for read in reads_of_result(scope, task):
            if not resolves(shape, segments(read.relative)):
                missing.append(f"{read.state} reads {read.path}: {read.relative} is not in {task}'s result")
    assert not missing, "\n".join(missing)


class Inner(typing.TypedDict):
    state: str


class Outer(typing.TypedDict, total=False):
    health: Inner
    items: list[Inner]
    anything: dict[str, Any]
    either: Inner | None


def test_a_wrong_path_is_found() -> None:
    """The check itself: a key the type does not declare fails, one it declares (nested, optional, in a list) passes."""
    assert resolves(Outer, segments("$.health.state"))
    assert resolves(Outer, segments("$.items[0].state"))
    assert resolves(Outer, segments("$.anything.whatever"))
    assert not resolves(Outer, segments("$.health.status"))
    assert not resolves(Outer, segments("$.health.state.deeper"))
    assert not resolves(Outer, segments("$.wealth"))
    assert resolves(Outer, segments("$.either.state")) and not resolves(Outer, segments("$.either.status"))
