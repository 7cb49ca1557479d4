"""The input checks a state machine's first state makes before it calls AWS, made before the offline account is
built: a mistake in the input is then one line in a second, not a failed run after the world was built.

The checks are the handlers' own functions (functions/mesh_rollout), so the answer is the one the execution
would give. An input with `{{given:...}}` references to the --given world is checked too, but for the fields
that hold a reference (and the problems that quote one): those are known only once the world exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mesh_rollout_local.references import PREFIX, reference_locations


def _weight_shift(raw: Any) -> None:
    from mesh_rollout.shifting.inputs import parse_spec

    parse_spec(raw)


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


def input_problem(state_machine: str, execution_input: Any) -> str | None:
    """`ErrorName: field: problem | ...` as the execution would fail with it, or None when the checks pass (or
    cannot be made before the run)."""
    check = CHECKS.get(state_machine)
    if check is None:
        return None
    from mesh_rollout_local.rollouts import functions_importable

    with functions_importable():
        from mesh_rollout.errors import InvalidRolloutInput, problems_text
        from mesh_rollout.shapes import field_path

        try:
            check(execution_input)
        except InvalidRolloutInput as exc:
            referring = [field_path(location) for location in reference_locations(execution_input)]
            known = [(field, problem) for field, problem in exc.problems if not _unknown_yet(field, problem, referring)]
            return f"{type(exc).__name__}: {problems_text(known)}" if known else None
    return None


def _unknown_yet(field: str, problem: str, referring: list[str]) -> bool:
    """Whether a problem may be only the stand-in's: at, inside or around a field that holds a reference, or
    quoting one (a rule between two fields)."""
    if PREFIX in problem:
        return True
    return any(
        path == field or path.startswith((f"{field}.", f"{field}[")) or field.startswith((f"{path}.", f"{path}["))
        for path in referring
    )
