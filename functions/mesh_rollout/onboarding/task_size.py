"""Task-level memory and CPU as ECS writes them, and whether the containers still fit (pure functions)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def _parse(value: str | int, units: dict[str, int], what: str) -> int:
    match = _SIZE.match(str(value))
    scale = units.get(match.group(2).lower()) if match else None
    if match is None or scale is None:
        raise ValueError(f"{value!r} is not a task {what} ECS accepts")
    amount = Decimal(match.group(1)) * scale
    if amount != amount.to_integral_value() or amount <= 0:
        raise ValueError(f"{value!r} is not a whole positive number of {what} units")
    return int(amount)


def task_memory_mib(value: str | int) -> int:
    """ECS task memory in MiB: '1024' or 1024 (MiB), '1 GB', '1GB', '0.5 gb' (GB as ECS means it: 1024 MiB)."""
    return _parse(value, {"": 1, "gb": 1024}, "memory")


def task_cpu_units(value: str | int) -> int:
    """ECS task CPU in CPU units: '512' or 512, '0.5 vCPU', '1 vcpu', '2vCPU' (1 vCPU = 1024 units)."""
    return _parse(value, {"": 1, "vcpu": 1024}, "CPU")


def _amount(container: dict[str, Any], key: str) -> int:
    # ECS's API takes integers; task definitions copied from the guide write "500"
    return int(container.get(key) or 0)


def container_memory(container: dict[str, Any]) -> tuple[int, bool]:
    """(MiB the container holds, reserved?): its hard limit `memory`, else its `memoryReservation`."""
    if _amount(container, "memory"):
        return _amount(container, "memory"), False
    return _amount(container, "memoryReservation"), True


def memory_shortfall(task_definition: dict[str, Any]) -> str | None:
    """Why the containers do not fit the task memory ('has … MiB; its containers would need …'), or None."""
    if not task_definition.get("memory"):
        return None
    limit = task_memory_mib(task_definition["memory"])
    parts = []
    total = 0
    for container in task_definition.get("containerDefinitions", []):
        amount, reserved = container_memory(container)
        if amount:
            total += amount
            parts.append(f"{container['name']} {amount}{' reserved' if reserved else ''}")
    if total <= limit:
        return None
    return f"has {limit} MiB; its containers would need {total} MiB ({', '.join(parts)})"


def cpu_shortfall(task_definition: dict[str, Any]) -> str | None:
    """Why the containers' CPU units do not fit the task CPU ('has … CPU units; …'), or None."""
    if not task_definition.get("cpu"):
        return None
    limit = task_cpu_units(task_definition["cpu"])
    containers = [(c["name"], _amount(c, "cpu")) for c in task_definition.get("containerDefinitions", [])]
    total = sum(amount for _, amount in containers)
    if total <= limit:
        return None
    parts = ", ".join(f"{name} {amount}" for name, amount in containers if amount)
    return f"has {limit} CPU units; its containers would need {total} CPU units ({parts})"


def shortfall(task_definition: dict[str, Any]) -> str | None:
    """Why the containers do not fit the task's memory or CPU, or None when they do."""
    problems = [p for p in (memory_shortfall(task_definition), cpu_shortfall(task_definition)) if p]
    return "; it ".join(problems) or None
