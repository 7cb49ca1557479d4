"""GetExecutionHistory's pages, which the emulator writes itself (history_body), are the JSON moto's serializer writes."""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import get_service_model
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from mesh_rollout_local.emulator.stepfunctions import _history_events, history_body
from mesh_rollout_local.runner import OfflineAccount


def moto_serialized(result: dict[str, Any]) -> Any:
    """What moto's own serializer writes for a GetExecutionHistory result, parsed."""
    model = get_service_model("stepfunctions")  # moto's own loading of botocore's model
    serializer = get_serializer_class("stepfunctions", model.protocol)(
        operation_model=model.operation_model("GetExecutionHistory"), pretty_print=False, value_picker=XFormedAttributePicker()
    )
    return json.loads(serializer.serialize(result)["body"])


def test_a_history_is_written_as_motos_serializer_writes_it(shift_account: OfflineAccount, shift_input: dict[str, Any]) -> None:
    """The emulator writes history pages itself (history_body): for the events of executions that succeeded, failed
    and were stopped, the JSON is the one moto's serializer writes."""
    shift = "WeightShiftStateMachine"
    table = shift_account.environment("StartEcsDeploymentFunction")["ROUTE_LOCK_TABLE"]
    rejected = shift_account.run(shift, shift_input, approver=lambda pending: (False, "no"))
    stopped = shift_account.run(shift, shift_input, approver=lambda pending: None, timeout=1)  # unanswered
    dynamodb = shift_account.client("dynamodb")  # frees the stopped shift's lock, as its clean-up would
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"lockId": item["lockId"]})
    approved = shift_account.run(shift, shift_input, approver=lambda pending: (True, "ok"))
    ended = [rejected, stopped, approved]
    assert [run.status for run in ended] == ["FAILED", "ABORTED", "SUCCEEDED"]
    backend = stepfunctions_parser_backends["123456789012"]["us-west-2"]
    for run in ended:
        events = _history_events(backend, run.execution_arn)
        assert len(events) > 20
        result = {"events": events, "nextToken": "token"}
        assert json.loads(history_body(result)) == moto_serialized(result)
