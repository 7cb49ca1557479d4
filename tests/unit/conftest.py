"""Fixtures only the tests of plain functions use (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import EVENTS, load_json


@pytest.fixture
def apps() -> dict[str, Any]:
    """The Lattice rollout's console input (the guide's mesh onto Lattice), as the console takes it."""
    return load_json(EVENTS / "lattice-rollout-apps.json")  # type: ignore[no-any-return]
