"""The input checks a state machine's first state makes before it calls AWS, made before the offline account is
built: a mistake in the input is then one line in a second, not a failed run after the world was built.

The checks are the handlers' own functions (functions/mesh_rollout), so the answer is the one the execution
would give. An input with `${...}` references to the --given world is left to the run: the references are
filled in only once that world exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
    if check is None or "${" in str(execution_input):
        return None
    from mesh_rollout_local.rollouts import functions_importable

    with functions_importable():
        from mesh_rollout.errors import InvalidRolloutInput

        try:
            check(execution_input)
        except InvalidRolloutInput as exc:
            return f"{type(exc).__name__}: {exc}"
    return None
