"""The offline runner gives each handler its own environment without a process-wide swap other threads can see."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest

from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.scenarios import mesh_of


def test_a_running_handler_sees_its_environment_and_no_other_thread_does(account: OfflineAccount) -> None:
    inside: dict[str, Any] = {}
    running, checked = threading.Event(), threading.Event()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        inside["table"] = os.environ.get("ROUTE_LOCK_TABLE")
        inside["service"] = os.getenv("POWERTOOLS_SERVICE_NAME")
        running.set()
        assert checked.wait(10)
        return {}

    _, variables = account._handlers["AcquireRouteLockFunction"]
    account._handlers["AcquireRouteLockFunction"] = (handler, variables)
    worker = threading.Thread(target=account._invoke, args=("AcquireRouteLockFunction", "{}", {}))
    worker.start()
    try:
        assert running.wait(10)
        # Given a handler that is running in another thread, this thread still sees the process environment
        names = ("ROUTE_LOCK_TABLE", "POWERTOOLS_SERVICE_NAME", "AWS_LAMBDA_FUNCTION_NAME")
        seen = {name: os.environ.get(name) for name in names}
    finally:
        checked.set()
        worker.join(10)
    account.raise_failed_assertion()  # the handler's own asserts, in the worker thread
    assert seen == {"ROUTE_LOCK_TABLE": None, "POWERTOOLS_SERVICE_NAME": None, "AWS_LAMBDA_FUNCTION_NAME": None}
    assert inside == {"table": variables["ROUTE_LOCK_TABLE"], "service": "mesh-rollout"}
    assert "ROUTE_LOCK_TABLE" not in os.environ


def test_threads_reading_the_environment_during_a_map_heavy_run_never_fail() -> None:
    """What moto's Map workers and botocore do (copy os.environ, build clients) while handlers run."""
    rollout, given = mesh_of(12, routes=6)
    errors: list[BaseException] = []
    done = threading.Event()

    def read_environment_all_the_time() -> None:
        while not done.is_set():
            try:
                copied = os.environ.copy()
                assert "AWS_REGION" in copied and "POWERTOOLS_SERVICE_NAME" not in copied
            except BaseException as exc:  # any failure is the finding
                errors.append(exc)
                return
            time.sleep(0.0002)  # leave the GIL to the run

    with OfflineAccount() as account:
        account.apply_given(given)
        reader = threading.Thread(target=read_environment_all_the_time)
        reader.start()
        try:
            result = account.run("MeshRolloutStateMachine", json.dumps(rollout))
        finally:
            done.set()
            reader.join(10)
    assert result.status == "SUCCEEDED", result.cause
    assert errors == []


def test_an_assertion_failing_inside_a_handler_fails_the_run_that_invoked_it(
    account: OfflineAccount, scenario: dict[str, Any]
) -> None:
    """The runner hands every handler error to the state machine, which may catch it; a test's assert must still
    fail the test (a replaced handler's or an `intercept` callback's)."""

    def expect_another_mesh(event: dict[str, Any]) -> None:
        assert event.get("meshName") == "not-apps", "the intercepted event"

    account.intercept("ValidateRolloutFunction", expect_another_mesh)
    with pytest.raises(AssertionError, match="the intercepted event"):
        account.run("MeshRolloutStateMachine", scenario)
    assert account.failed_assertions == []  # raised once
