"""The Lattice rollout's console input (events/lattice-rollout-apps.json), as more than one test module starts it."""

from __future__ import annotations

import json
from typing import Any

from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS


def rollout_input(account: OfflineAccount, **lattice: Any) -> dict[str, Any]:
    """The input with the account's identifiers resolved, and `lattice` changing fields of its lattice section."""
    given: dict[str, Any] = json.loads(account.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    given["lattice"].update(lattice)
    return given
