"""ECS's task memory and CPU strings, and whether containers fit them (pure)."""

from __future__ import annotations

import pytest

from mesh_rollout.onboarding.task_size import shortfall, task_cpu_units, task_memory_mib


@pytest.mark.parametrize(
    ("value", "mib"),
    [("1024", 1024), (512, 512), ("1 GB", 1024), ("1GB", 1024), ("0.5 GB", 512), ("2 gb", 2048), (" 30GB ", 30720)],
)
def test_task_memory_reads_every_form_ecs_accepts(value: str | int, mib: int) -> None:
    assert task_memory_mib(value) == mib


@pytest.mark.parametrize(
    ("value", "units"),
    [("512", 512), (256, 256), ("0.5 vCPU", 512), ("1 vcpu", 1024), ("0.25 vCPU", 256), ("4vCPU", 4096), ("16 VCPU", 16384)],
)
def test_task_cpu_reads_every_form_ecs_accepts(value: str | int, units: int) -> None:
    assert task_cpu_units(value) == units


@pytest.mark.parametrize("value", ["", "1 TB", "one GB", "-512", "0.3 GB", "0", "1 vCPU"])
def test_task_memory_refuses_what_ecs_would_not_take(value: str) -> None:
    with pytest.raises(ValueError, match="memory"):
        task_memory_mib(value)


@pytest.mark.parametrize("value", ["1 GB", "0.0001 vCPU", "vCPU"])
def test_task_cpu_refuses_what_ecs_would_not_take(value: str) -> None:
    with pytest.raises(ValueError, match="CPU"):
        task_cpu_units(value)


def test_shortfall_names_the_numbers_and_the_containers() -> None:
    td = {
        "memory": "1 GB",
        "cpu": "0.25 vCPU",
        "containerDefinitions": [
            {"name": "app", "memory": 512, "memoryReservation": 256, "cpu": 256},
            {"name": "envoy", "memory": "500"},
            {"name": "xray-daemon", "memoryReservation": 256, "cpu": 32},
        ],
    }
    assert shortfall(td) == (
        "has 1024 MiB; its containers would need 1268 MiB (app 512, envoy 500, xray-daemon 256 reserved); "
        "it has 256 CPU units; its containers would need 288 CPU units (app 256, xray-daemon 32)"
    )
    td["containerDefinitions"].pop()
    assert shortfall(td) is None
    assert shortfall({"containerDefinitions": [{"name": "app", "memory": 4096}]}) is None  # no task size: EC2
