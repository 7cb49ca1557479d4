"""`mesh-rollout start [--follow]` against a real account (or any endpoint boto3 is given); `status`, `abort` and
`list` are rollouts.py."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TextIO

from mesh_rollout_local import approvals
from mesh_rollout_local.history import HistoryReader

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def state_machine_arn(cloudformation: Any, stack: str, state_machine: str) -> str:
    """The ARN the stack's `<LogicalId>Arn` output gives (template.yaml declares one per state machine)."""
    return stack_output(cloudformation, stack, f"{state_machine}Arn")


def stack_output(cloudformation: Any, stack: str, key: str) -> str:
    """One output of the deployed stack; KeyError naming those it has."""
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if key not in outputs:
        raise KeyError(f"stack {stack} has no output {key} (it has {', '.join(sorted(outputs)) or 'none'})")
    return str(outputs[key])


def start(sfn: Any, arn: str, execution_input: str, prefix: str = "cli") -> str:
    json.loads(execution_input)  # fail here, not in the console, on a file that is not JSON
    name = f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    return str(sfn.start_execution(stateMachineArn=arn, name=name, input=execution_input)["executionArn"])


def describe_event(event: dict[str, Any]) -> str | None:
    """One line for the events a person follows: states entered, failures, the end."""
    kind = event["type"]
    if kind.endswith("StateEntered"):
        return f"  -> {event['stateEnteredEventDetails']['name']}"
    details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    if kind.endswith("Failed") and kind != "ExecutionFailed" and details.get("error"):
        return f"     ! {details['error']}: {cause_message(details.get('cause'))}"
    if kind.startswith("Execution") and kind != "ExecutionStarted":
        return f"  == {kind.removeprefix('Execution').upper()}" + (f" {details.get('error')}" if details.get("error") else "")
    return None


def cause_message(cause: str | None) -> str:
    """The errorMessage of a Lambda error document, or the cause as it is."""
    try:
        return str(json.loads(cause or "")["errorMessage"])
    except (ValueError, KeyError, TypeError):
        return cause or ""


def follow(sfn: Any, execution_arn: str, out: TextIO, poll: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> str:
    """Print each state as it happens until the execution ends; return its status. Each poll reads only the
    events it has not read yet (history.py)."""
    reader, told = HistoryReader(sfn, execution_arn), set()
    while True:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        for event in reader.finish() if status in TERMINAL else reader.new_events():
            line = describe_event(event)
            if line:
                print(line, file=out, flush=True)
        pending = approvals.pending_approval(reader.events)
        if pending is not None and pending.scheduled_event_id not in told:
            told.add(pending.scheduled_event_id)
            print(f"     ? waiting for approval of {pending.describe()}:", file=out)
            print(f"       mesh-rollout approve|reject {execution_arn} --comment TEXT", file=out, flush=True)
        if status in TERMINAL:
            described = sfn.describe_execution(executionArn=execution_arn)
            print(f"{execution_arn}: {status}", file=out)
            if described.get("cause"):
                print(f"  cause: {cause_message(described['cause'])}", file=out)
            return str(status)
        sleep(poll)
