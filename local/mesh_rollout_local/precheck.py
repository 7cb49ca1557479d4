"""The input checks a state machine's first state makes before it calls AWS, made before the offline account is
built: a mistake in the input is then one line in a second, not a failed run after the world was built.

The checks are the handlers' own functions (functions/mesh_rollout), so the answer is the one the execution
would give. An input with `{{given:...}}` references to the --given world is checked too, but for the fields
that hold a reference (and the problems that quote one): those are known only once the world exists. A
reference's name is known before: given the world's saveAs names (`given_names`), a name none of its calls saves is
a problem of the field that holds it.

Every problem found is in the one answer. The handlers check an input's shape first and the rules between its
fields only once the shape is right (pydantic cannot build the input otherwise); here a field whose shape is wrong
is left out (when the input may go without it) and the rest checked again, so that a wrong type and a stable equal
to the canary are both reported at once."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mesh_rollout_local.references import PREFIX, REFERENCE, reference_locations

PASSES = 3  # shape problems left out, then checked again: an input rarely has more than two layers of them


def _weight_shift(raw: Any) -> None:
    from mesh_rollout.grouping.inputs import parse_group  # a route alone is a group of one leg (its own problems)

    parse_group(raw)


def _mesh_rollout(raw: Any) -> None:
    from mesh_rollout.onboarding.plan import build_requests

    build_requests(raw)


def _lattice_rollout(raw: Any) -> None:
    from mesh_rollout.migration.plan import parse_lattice_input

    parse_lattice_input(raw)


# The state machines whose first state checks the input as a whole (EcsServiceRolloutStateMachine's input is made
# by MeshRolloutStateMachine, not by a person).
CHECKS: dict[str, Callable[[Any], None]] = {
    "WeightShiftStateMachine": _weight_shift,
    "MeshRolloutStateMachine": _mesh_rollout,
    "LatticeRolloutStateMachine": _lattice_rollout,
}


def input_problem(state_machine: str, execution_input: Any, given_names: Iterable[str] | None = None) -> str | None:
    """`ErrorName: field: problem | ...` as the execution would fail with it, or None when the checks pass (or
    cannot be made before the run). With `given_names` (the --given world's saveAs names), a reference to a name
    the world does not save is one of the problems."""
    check = CHECKS.get(state_machine)
    if check is None:
        return None
    from mesh_rollout_local.rollouts import functions_importable

    with functions_importable():
        from mesh_rollout.errors import InvalidRolloutInput, problems_text
        from mesh_rollout.shapes import field_path

        referring = [field_path(location) for location in reference_locations(execution_input)]
        found = _reference_problems(execution_input, given_names, field_path) if given_names is not None else []
        error = "InvalidRolloutInput" if found else None
        current, left_out = execution_input, set[str]()
        for _ in range(PASSES):
            try:
                check(current)
                break
            except InvalidRolloutInput as exc:
                error = error or type(exc).__name__
                fresh = [
                    (field, problem)
                    for field, problem in exc.problems
                    if not _unknown_yet(field, problem, referring) and not _left_out(field, problem, left_out)
                ]
                found += [item for item in fresh if item not in found]
                leave = {_top(field) for field, _ in exc.problems} - left_out
                if not isinstance(current, dict) or not leave or not leave <= set(current) or "legs" in current:
                    break  # a group's check says every problem at once: without `legs` it would be a route's
                current = {k: v for k, v in current.items() if k not in leave}
                left_out |= leave
        return f"{error}: {problems_text(found)}" if found else None


def _top(field: str) -> str:
    return re.split(r"[.\[]", field, maxsplit=1)[0]


def _left_out(field: str, problem: str, left_out: set[str]) -> bool:
    """A problem of a field this check left out (it is missing now), or quoting one: not the input's."""
    return _top(field) in left_out or any(re.search(rf"\b{re.escape(name)}\b", problem) for name in left_out)


def _reference_problems(value: Any, names: Iterable[str], field_path: Callable[..., str]) -> list[tuple[str, str]]:
    """Each reference to a name the world does not save, at the field that holds it."""
    known, problems = set(names), []
    for location in reference_locations(value):
        text: Any = value
        for part in location:
            text = text[part]
        for expr in REFERENCE.findall(text):
            name = re.split(r"[.|\[]", expr, maxsplit=1)[0]
            if re.fullmatch(r"now-\d+", expr) or name in known:
                continue
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {near[0]}?" if near else f" (it saves {', '.join(sorted(known)) or 'none'})"
            problems.append((field_path(location), f"{PREFIX}{expr}}}}}: the --given world saves no {name!r}{hint}"))
    return problems


def given_names(calls: Any, base: Path) -> set[str] | None:
    """The saveAs names of a given world, its included files' too (None if a file cannot be read: the world's
    own check then says why)."""
    names: set[str] = set()
    if not isinstance(calls, list):
        return None
    for call in calls:
        if not isinstance(call, dict):
            continue
        if isinstance(call.get("saveAs"), str):
            names.add(call["saveAs"])
        if isinstance(call.get("include"), str):
            path = base / call["include"]
            try:
                included = given_names(json.loads(path.read_text()), path.parent)
            except (OSError, ValueError):
                return None
            if included is None:
                return None
            names |= included
    return names


def _unknown_yet(field: str, problem: str, referring: list[str]) -> bool:
    """Whether a problem may be only the stand-in's: at, inside or around a field that holds a reference, or
    quoting one (a rule between two fields)."""
    if PREFIX in problem:
        return True
    if re.fullmatch(r"legs(\[\d+\])?", field):  # a group's legs, between them: what the references hold is not it
        return False
    return any(
        path == field or path.startswith((f"{field}.", f"{field}[")) or field.startswith((f"{path}.", f"{path}["))
        for path in referring
    )
