"""Execution inputs with mistakes in them, as more than one test module gives them."""

from __future__ import annotations

from typing import Any

from tests.conftest import EVENTS, load_json


def three_mistakes() -> dict[str, Any]:
    """The guide's shift with a misspelt field, a negative bake time and an unknown mode."""
    raw = {key: value for key, value in load_json(EVENTS / "weight-shift-apps.json").items() if key != "steps"}
    return {**raw, "stepPercnt": 25, "bakeSeconds": -1, "mode": "all-at-once"}
