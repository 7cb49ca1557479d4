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
from mesh_rollout_local.progress import ExecutionsReader, Progress, cause_message

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


def follow(sfn: Any, execution_arn: str, out: TextIO, poll: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> str:
    """Print each state as it happens, the executions it starts (each ECS service's) included, until the execution
    ends; return its status. Each poll reads only the events it has not read yet (history.py, progress.py)."""
    reader, told, progress = HistoryReader(sfn, execution_arn), set(), Progress(ends=True)
    family = ExecutionsReader(sfn)
    while True:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        fresh = reader.finish() if status in TERMINAL else reader.new_events()
        for event in family.new_events(fresh, final=status in TERMINAL):
            for line in progress.lines(event):
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
