"""What an offline run gives back: its outcome, the states it entered, and the AWS calls our handlers made."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.history import HistoryReader, started_executions

MUTATING = re.compile(
    r"^(Create|Update|Modify|Register|Delete|Deregister|Put|Tag|Untag|Start|Stop|Send|Publish|Set|Add|Remove|Change"
    r"|Associate|Disassociate|TransactWrite|Authorize|Revoke|Attach|Detach|Continue)"
)


@dataclass
class RunTally:
    """The handlers' work during one run (or, at the bottom of the account's stack, outside any run)."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # (service, operation) of each AWS call, in order
    invocations: int = 0
    # the AWS calls of each Lambda invocation, in the order they ran (one list per invocation)
    invocation_calls: list[list[tuple[str, str]]] = field(default_factory=list)


@dataclass
class RunResult:
    """One execution: its outcome, the states it entered and the AWS calls our handlers made."""

    run: int
    execution_arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    states: list[str]
    api_calls: Counter[tuple[str, str]]
    history: list[dict[str, Any]]
    seconds: float
    lambda_invocations: int
    # the AWS calls of each Lambda invocation, in the order they ran (one list per invocation)
    invocation_calls: list[list[tuple[str, str]]] = field(default_factory=list)
    # the executions this one started (states:startExecution.sync:2): {"executionArn", "status", "history"}
    children: list[dict[str, Any]] = field(default_factory=list)

    def mutating_calls(self) -> dict[str, int]:
        return {f"{s}:{op}": n for (s, op), n in sorted(self.api_calls.items()) if MUTATING.match(op)}


def nested_executions(
    sfn: Any, history: list[dict[str, Any]], readers: dict[str, HistoryReader] | None = None
) -> list[dict[str, Any]]:
    """The executions started by a `states:startExecution` Task of this history, in the order they started, each
    with its status and its whole history (and theirs, if they started executions in turn). `readers` are those a
    live printer already read them with: only what they have not read yet is read."""
    children = []
    for arn in started_executions(history):
        reader = (readers or {}).get(arn) or HistoryReader(sfn, arn)
        reader.finish()
        status = sfn.describe_execution(executionArn=arn)["status"]
        children.append({"executionArn": arn, "status": status, "history": reader.events})
        children.extend(nested_executions(sfn, reader.events, readers))
    return children


def states_entered(history: list[dict[str, Any]], children: list[dict[str, Any]]) -> list[str]:
    """The names of the states entered by an execution and the executions it started, in the order they were
    entered (by timestamp; within one execution, in history order)."""
    entered = [
        (event["timestamp"], event["stateEnteredEventDetails"]["name"])
        for events in [history, *(child["history"] for child in children)]
        for event in events
        if event["type"].endswith("StateEntered")
    ]
    # a stable sort: events of one execution with the same timestamp keep their order
    return [name for _, name in sorted(entered, key=lambda entry: entry[0])]
