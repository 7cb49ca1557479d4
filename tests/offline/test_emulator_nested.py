"""The Step Functions emulator runs nested executions (states:startExecution, .sync and .sync:2) as AWS does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import ROOT

CHILD = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Broken"}],
            "Default": "Done",
        },
        "Done": {"Type": "Pass", "Parameters": {"echo.$": "$.value"}, "End": True},
        "Broken": {"Type": "Fail", "Error": "ChildBroke", "Cause": "as asked"},
    },
}


def parent(child_arn: str, resource: str) -> dict[str, Any]:
    return {
        "StartAt": "Items",
        "States": {
            "Items": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Child",
                    "States": {
                        "Child": {
                            "Type": "Task",
                            "Resource": resource,
                            "Parameters": {"StateMachineArn": child_arn, "Input.$": "$"},
                            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}],
                            "End": True,
                        },
                        "Failed": {
                            "Type": "Pass",
                            "Parameters": {"error.$": "$.failure.Error", "cause.$": "$.failure.Cause"},
                            "End": True,
                        },
                    },
                },
                "End": True,
            }
        },
    }


@pytest.fixture
def sfn() -> Iterator[Any]:
    with OfflineAccount(ROOT / "template.yaml") as account:
        yield account.client("stepfunctions")


def run(sfn: Any, resource: str, items: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    role = "arn:aws:iam::123456789012:role/mesh-rollout-local"
    child = sfn.create_state_machine(name="child", definition=json.dumps(CHILD), roleArn=role)["stateMachineArn"]
    machine = sfn.create_state_machine(name="parent", definition=json.dumps(parent(child, resource)), roleArn=role)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps({"items": items}))["executionArn"]
    for _ in range(2000):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described, child
        time.sleep(0.01)
    raise AssertionError("the parent execution did not end")


def test_sync2_runs_each_child_and_returns_its_output_as_json(sfn: Any) -> None:
    described, child = run(sfn, "arn:aws:states:::states:startExecution.sync:2", [{"value": 1}, {"value": 2}, {"value": 3}])
    assert described["status"] == "SUCCEEDED", described
    results = json.loads(described["output"])
    # the response's members as Step Functions names them, Output parsed (.sync:2), one child per item
    assert [r["Output"] for r in results] == [{"echo": 1}, {"echo": 2}, {"echo": 3}]
    assert {r["Status"] for r in results} == {"SUCCEEDED"}
    children = sfn.list_executions(stateMachineArn=child)["executions"]
    assert len(children) == 3 and len({c["name"] for c in children}) == 3  # unnamed executions get distinct names
    assert all(len(c["name"]) == 36 for c in children)  # a UUID, as AWS names them


def test_a_failed_child_fails_the_task_with_the_childs_description_as_cause(sfn: Any) -> None:
    described, _ = run(sfn, "arn:aws:states:::states:startExecution.sync:2", [{"value": 1, "fail": True}])
    (failure,) = json.loads(described["output"])
    assert failure["error"] == "States.TaskFailed"
    cause = json.loads(failure["cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "ChildBroke", "as asked")


def test_fire_and_forget_returns_the_execution_arn(sfn: Any) -> None:
    described, child = run(sfn, "arn:aws:states:::states:startExecution", [{"value": 1}])
    (started,) = json.loads(described["output"])
    assert started["ExecutionArn"].startswith(child.replace(":stateMachine:", ":execution:") + ":")
