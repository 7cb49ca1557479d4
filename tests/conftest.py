"""Shared fixtures: the emulated account with the guide's world, a Lambda context, Powertools settings."""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mesh_rollout_local.runner import LambdaContext, OfflineAccount, StillClock

if TYPE_CHECKING:
    from tests.support import Backend

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
GUIDE = json.loads((Path(__file__).parent / "data" / "guide.json").read_text())


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def wait_for(what: str, found: Callable[[], Any], seconds: float = 60.0, every: float = 0.02) -> Any:
    """Poll `found` every `every` s until it returns something truthy, and return that; fail after `seconds`. For
    what a thread does meanwhile (the emulated ECS deployments' engine, EventBridge deliveries): never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"no {what} within {seconds} s")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network; AWS credentials are fake; Powertools runs as in Lambda minus X-Ray."""

    def refuse(self: socket.socket, address: Any) -> None:
        if self.family != socket.AF_UNIX:
            raise RuntimeError(f"test tried to open a network connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_REGION": "us-west-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "MeshRolloutTests",
        # as OfflineAccount sets it: moto loads some 5,000 public AMIs into every EC2 backend, tests' own mocks too
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def _reset_metrics() -> Iterator[None]:
    from mesh_rollout.observability import metrics

    yield
    metrics.clear_metrics()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext("test-function", "arn:aws:lambda:us-west-2:123456789012:function:test-function")


@pytest.fixture
def guide() -> dict[str, Any]:
    return copy.deepcopy(GUIDE)


@pytest.fixture
def scenario() -> dict[str, Any]:
    """The reference scenario input, as the console and `aws stepfunctions start-execution` take it."""
    return load_json(EVENTS / "mesh-rollout-apps.json")  # type: ignore[no-any-return]


@pytest.fixture
def given() -> list[dict[str, Any]]:
    return load_json(EVENTS / "local" / "apps-given.json")  # type: ignore[no-any-return]


@pytest.fixture
def account(given: list[dict[str, Any]]) -> Iterator[OfflineAccount]:
    """An emulated account holding the guide's world (cluster, taskA/taskB/taskBv2, three services)."""
    with OfflineAccount(ROOT / "template.yaml") as emulated:
        emulated.apply_given(given, EVENTS / "local")
        yield emulated


@pytest.fixture
def shift_input() -> dict[str, Any]:
    """The guide's shift: serviceB 75 / serviceBv2 25 -> 50/50 -> 100 serviceBv2, approval before 100."""
    return load_json(EVENTS / "weight-shift-apps.json")  # type: ignore[no-any-return]


@pytest.fixture
def shift_account() -> Iterator[OfflineAccount]:
    """The guide's world after the MeshRolloutStateMachine ran (route at 75/25), plus the canary's alarm. The first
    build in a test process runs the state machine; later ones replay its handlers' AWS calls (replay_given_runs):
    the same world, without the execution (about 2.5 s a test)."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as emulated:
        emulated.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        yield emulated


@pytest.fixture
def meshed() -> Iterator[OfflineAccount]:
    """The guide's world after the mesh rollout (three services on Envoy), plus the ECS infrastructure role and the
    private hosted zone apps.local: the world the Lattice rollout's tests start from (its mesh rollout replayed)."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as account:
        account.apply_given(load_json(EVENTS / "local" / "lattice-rollout-given.json"), EVENTS / "local")
        yield account


@pytest.fixture(scope="module")
def emulated() -> Iterator[OfflineAccount]:
    """An emulated account with nothing in it, shared by the tests of one module (they create what they need)."""
    with OfflineAccount(ROOT / "template.yaml") as account:
        yield account


@pytest.fixture(params=["appmesh", "lattice", "alb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The guide's serviceB / serviceBv2 behind one weighted route of each backend (App Mesh, VPC Lattice, ALB)."""
    from tests.support import GIVEN, SHAPES, Backend  # not at the top: tests.support imports this module

    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True, clock=StillClock()) as account:
        account.apply_given(load_json(EVENTS / "local" / GIVEN[request.param]), EVENTS / "local")
        yield Backend(request.param, account, *SHAPES[request.param])
