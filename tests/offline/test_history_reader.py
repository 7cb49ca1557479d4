"""The history reader: a live printer, an approver or `mesh-rollout start --follow` reads only the events it has not
read yet while an execution runs, and the run ends with the complete history (the reader against a history that
grows between calls, without an account: tests/unit/test_history_reader.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local import remote
from mesh_rollout_local.history import read_all
from mesh_rollout_local.progress import Progress
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import ROOT

ROLE = "arn:aws:iam::123456789012:role/mesh-rollout-local"
EACH = {
    "Type": "Map",
    "ItemsPath": "$.items",
    "MaxConcurrency": 1,
    "ItemProcessor": {"StartAt": "Touch", "States": {"Touch": {"Type": "Pass", "End": True}}},
    "ResultPath": None,
}
# 60 items, a second, 60 more and another second: a history of some 500 events that grows while it is polled
PACED = {
    "StartAt": "First",
    "States": {
        "First": {**EACH, "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Second"},
        "Second": {**EACH, "Next": "Rest"},
        "Rest": {"Type": "Wait", "Seconds": 1, "End": True},
    },
}
ITEMS = {"items": list(range(60))}


@pytest.fixture
def paced() -> Iterator[OfflineAccount]:
    """An emulated account where Wait states really wait, with the PACED state machine deployed as "Paced"."""
    with OfflineAccount(ROOT / "template.yaml", real_time=True) as account:
        sfn = account.client("stepfunctions")
        created = sfn.create_state_machine(name="Paced", definition=json.dumps(PACED), roleArn=ROLE)
        account.state_machine_arns["Paced"] = created["stateMachineArn"]
        yield account


def count_history_reads(account: OfflineAccount) -> list[dict[str, Any]]:
    """Each GetExecutionHistory call made from now on: its parameters and the ids of the events it returned."""
    calls: list[dict[str, Any]] = []

    def record(parsed: dict[str, Any], **_: Any) -> None:
        calls[-1]["ids"] = [event["id"] for event in parsed.get("events", [])]

    def params(params: dict[str, Any], **_: Any) -> None:
        calls.append({"params": dict(params)})

    events = account.client("stepfunctions").meta.events  # the account's one client, which the runner reads with
    events.register("provide-client-params.sfn.GetExecutionHistory", params)
    events.register("after-call.sfn.GetExecutionHistory", record)
    return calls


def assert_reads_only_new_events(calls: list[dict[str, Any]], history: list[dict[str, Any]]) -> None:
    """Every event is read once, plus at most a few a call and a page of events already read when more events came
    in between a poll's two calls than it made room for: never the whole history again on every poll, as reading
    it from the start would."""
    returned = sum(len(call["ids"]) for call in calls)
    assert {i for call in calls for i in call["ids"]} == set(range(1, len(history) + 1))
    assert len(calls) >= 3  # it did poll while the history grew (every 0.5 s at most; every 0.01 s, before)
    assert returned <= 2 * len(history) + 3 * len(calls), (returned, len(history), len(calls))
    assert all(call["params"].get("reverseOrder") for call in calls)  # newest first, down to what it has


@pytest.mark.parametrize("watcher", ["printer", "approver"])
def test_a_live_run_reads_only_the_events_it_has_not_read(paced: OfflineAccount, watcher: str) -> None:
    printed: list[dict[str, Any]] = []
    calls = count_history_reads(paced)
    if watcher == "printer":
        result = paced.run("Paced", ITEMS, on_event=printed.append)
    else:
        result = paced.run("Paced", ITEMS, approver=lambda pending: None)
    assert result.status == "SUCCEEDED"
    history, calls = result.history, list(calls)  # the calls of the run, not of the checks below
    assert len(history) > 480 and [e["id"] for e in history] == list(range(1, len(history) + 1))
    assert history == read_all(paced.client("stepfunctions"), result.execution_arn)  # complete, as the API has it
    assert history[-1]["type"] == "ExecutionSucceeded" and result.states.count("Touch") == 120
    if watcher == "printer":
        assert printed == history  # each event printed once, in order
    assert_reads_only_new_events(calls, history)


def test_the_runner_alone_reads_the_history_once_at_the_end(paced: OfflineAccount) -> None:
    calls = count_history_reads(paced)
    result = paced.run("Paced", ITEMS)
    assert result.status == "SUCCEEDED" and len(result.history) > 480
    assert [(call["params"].get("maxResults"), len(call["ids"])) for call in calls] == [(1000, len(result.history))]


def test_follow_prints_each_state_once_and_reads_only_new_events(paced: OfflineAccount) -> None:
    calls = count_history_reads(paced)
    sfn = paced.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=paced.state_machine_arns["Paced"], name="followed", input=json.dumps(ITEMS))
    out = io.StringIO()
    assert remote.follow(sfn, arn["executionArn"], out, poll=0.05) == "SUCCEEDED"
    history = read_all(sfn, arn["executionArn"])
    progress = Progress(ends=True)
    described = [line for event in history for line in progress.lines(event)]
    assert out.getvalue().splitlines()[: len(described)] == described
    assert_reads_only_new_events(calls[:-1], history)  # the last call is the test's own read_all
