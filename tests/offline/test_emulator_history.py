"""GetExecutionHistory in the emulator pages as the Step Functions model says: maxResults (default 100, at most
1000), nextToken, reverseOrder, includeExecutionData, and InvalidToken for a token that is not the one to use."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from mesh_rollout_local.runner import OfflineAccount
from tests.support import error_of

ROLE = "arn:aws:iam::123456789012:role/mesh-rollout-local"


def map_machine(sfn: Any, name: str) -> str:
    """A state machine whose history grows by four events per item of its input's `items` (a Map of Pass)."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "Touch", "States": {"Touch": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def finished_execution(sfn: Any, machine: str, items: int) -> str:
    started = sfn.start_execution(stateMachineArn=machine, name=f"items-{items}", input=json.dumps({"items": list(range(items))}))
    arn = str(started["executionArn"])
    for _ in range(1000):
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            return arn
        time.sleep(0.01)
    raise AssertionError(f"{arn} did not finish")


@pytest.fixture(scope="module")
def executions(emulated: OfflineAccount) -> dict[str, str]:
    """Two finished executions: one of 250 events or more, one of a few."""
    sfn = emulated.client("stepfunctions")
    machine = map_machine(sfn, "HistoryPages")
    return {"long": finished_execution(sfn, machine, 70), "short": finished_execution(sfn, machine, 1)}


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [event["id"] for event in events]


def pages(sfn: Any, arn: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a history, by nextToken, the other parameters unchanged."""
    found, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, **params, **({"nextToken": token} if token else {}))
        found.append(page)
        token = page.get("nextToken")
        if token is None:
            return found


def test_a_history_pages_forward_100_events_by_default(emulated: OfflineAccount, executions: dict[str, str]) -> None:
    sfn = emulated.client("stepfunctions")
    every = pages(sfn, executions["long"])
    total = sum(len(page["events"]) for page in every)
    assert total >= 250 and [len(page["events"]) for page in every] == [100] * (total // 100) + [total % 100]
    assert [ids(page["events"]) for page in every] == [
        list(range(start + 1, min(start + 100, total) + 1)) for start in range(0, total, 100)
    ]
    assert "nextToken" not in every[-1]
    assert ids(sfn.get_execution_history(executionArn=executions["long"], maxResults=0)["events"]) == list(range(1, 101))
    assert [len(page["events"]) for page in pages(sfn, executions["long"], maxResults=7)][:3] == [7, 7, 7]
    whole = sfn.get_execution_history(executionArn=executions["long"], maxResults=1000)
    assert ids(whole["events"]) == list(range(1, total + 1)) and "nextToken" not in whole
    assert whole["events"][0]["type"] == "ExecutionStarted" and whole["events"][-1]["type"] == "ExecutionSucceeded"


def test_reverse_order_pages_newest_first(emulated: OfflineAccount, executions: dict[str, str]) -> None:
    sfn = emulated.client("stepfunctions")
    forward = [event for page in pages(sfn, executions["long"], maxResults=1000) for event in page["events"]]
    backward = pages(sfn, executions["long"], reverseOrder=True, maxResults=40)
    assert [event for page in backward for event in page["events"]] == forward[::-1]
    assert ids(backward[0]["events"]) == list(range(len(forward), len(forward) - 40, -1))
    assert backward[0]["events"][0]["type"] == "ExecutionSucceeded"
    newest = sfn.get_execution_history(executionArn=executions["short"], reverseOrder=True, maxResults=1)
    assert newest["events"][0]["type"] == "ExecutionSucceeded" and "nextToken" in newest


def test_botocore_paginator_reads_the_whole_history(emulated: OfflineAccount, executions: dict[str, str]) -> None:
    sfn = emulated.client("stepfunctions")
    paginator = sfn.get_paginator("get_execution_history")
    everything = [e for page in paginator.paginate(executionArn=executions["long"]) for e in page["events"]]
    assert ids(everything) == list(range(1, len(everything) + 1)) and len(everything) >= 250
    limited = paginator.paginate(executionArn=executions["long"], PaginationConfig={"MaxItems": 150, "PageSize": 60})
    assert ids([e for page in limited for e in page["events"]]) == list(range(1, 151))


def test_a_token_is_for_its_execution_and_order_only(emulated: OfflineAccount, executions: dict[str, str]) -> None:
    sfn = emulated.client("stepfunctions")
    forward = sfn.get_execution_history(executionArn=executions["long"], maxResults=10)["nextToken"]
    backward = sfn.get_execution_history(executionArn=executions["long"], maxResults=10, reverseOrder=True)["nextToken"]
    assert ids(sfn.get_execution_history(executionArn=executions["long"], maxResults=10, nextToken=forward)["events"]) == list(
        range(11, 21)
    )
    invalid = ("InvalidToken", 400)
    history = sfn.get_execution_history
    assert error_of(history, executionArn=executions["short"], nextToken=forward) == invalid  # another execution's
    assert error_of(history, executionArn=executions["long"], nextToken=backward) == invalid  # the other order's
    assert error_of(history, executionArn=executions["long"], nextToken="not-a-token") == invalid
    assert error_of(history, executionArn=executions["long"], nextToken="WzEsMiwzXQ==") == invalid  # base64 JSON, not ours


def test_page_size_limits_and_unknown_executions(emulated: OfflineAccount, executions: dict[str, str]) -> None:
    history = emulated.client("stepfunctions").get_execution_history
    assert error_of(history, executionArn=executions["long"], maxResults=1001) == ("ValidationException", 400)
    missing = executions["short"].rsplit(":", 1)[0] + ":no-such-execution"
    assert error_of(history, executionArn=missing) == ("ExecutionDoesNotExist", 400)


def test_include_execution_data_false_leaves_out_inputs_and_outputs(emulated: OfflineAccount, executions: dict[str, str]) -> None:
    sfn = emulated.client("stepfunctions")
    full = sfn.get_execution_history(executionArn=executions["short"], maxResults=1000)["events"]
    bare = sfn.get_execution_history(executionArn=executions["short"], maxResults=1000, includeExecutionData=False)["events"]
    assert ids(bare) == ids(full)
    started, entered = full[0]["executionStartedEventDetails"], next(e for e in full if "stateEnteredEventDetails" in e)
    assert "input" in started and "input" in entered["stateEnteredEventDetails"]
    for with_data, without in zip(full, bare, strict=True):
        details = next((k for k in with_data if k.endswith("EventDetails")), None)
        if details is None:
            assert without == with_data
            continue
        expected = {k: v for k, v in with_data[details].items() if k not in ("input", "output", "assignedVariables")}
        assert without == {**with_data, details: expected}
    explicit = sfn.get_execution_history(executionArn=executions["short"], maxResults=1000, includeExecutionData=True)
    assert explicit["events"] == full
