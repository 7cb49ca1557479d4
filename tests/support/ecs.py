"""ECS shapes more than one test module reads (plain helpers, no fixtures)."""

from __future__ import annotations

from typing import Any


def containers_by_name(task_definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A task definition's (or a RegisterTaskDefinition request's) container definitions, by name."""
    return {c["name"]: c for c in task_definition["containerDefinitions"]}
