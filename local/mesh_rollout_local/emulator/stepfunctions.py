"""Step Functions in the emulated account: stops and Lambda service errors as AWS has them.

- StopExecution ends the execution ABORTED at once (moto lets a Task waiting on a task token either fail the
  execution with States.Runtime or, now and then, wait out its whole timeout); as on AWS, no Catch runs.
- A Lambda service error (throttling, 5xx) of a Task whose Resource is a function ARN is named as AWS names it,
  `Lambda.<code>` (moto names it `Exception`, which no Retry or Catch of ours matches).
- Nested executions (`arn:aws:states:::states:startExecution[.sync[:2]]`) run: moto passes the Task's
  `Parameters` to botocore as written (`StateMachineArn`, which botocore refuses) and reads the response as
  botocore returns it (`executionArn`). As Step Functions does, parameters are bound to the API's members
  (`StateMachineArn` -> `stateMachineArn`) and the result's members are given upper-case first letters
  (`ExecutionArn`, `Output`), both following the Step Functions service model; their dates are epoch milliseconds.
- StartExecution without a name gets a UUID, as on AWS (moto names every such execution "None", so the
  second one is refused as already existing).
- GetExecutionHistory pages as the model says (moto returns every event, whatever is asked): `maxResults` events
  per call (0 or none: 100; above 1000: ValidationException), oldest first or, with `reverseOrder`, newest
  first; `nextToken` while older (newer) events remain, for this execution and order only (another is
  InvalidToken, as is a token that is not ours; they never expire); `includeExecutionData: false` leaves out
  the execution data, the members the model pairs with a `...Details` (`input`, `output`, `assignedVariables`).
- A definition is parsed once per process: moto's interpreter parses the ASL with ANTLR at every
  CreateStateMachine and again at every StartExecution (about 0.3-1 s for our larger machines, most of an offline
  account's build). The parsed program holds the definition's declarations only (an execution's state lives in
  its own Environment, and Map iterations already share one program), so executions share it. Behaviour is
  unchanged: the same definition gives the same program, and a definition that does not parse is refused as before.
- So is each JSONPath (moto's interpreter builds a new jsonpath-ng parser, PLY tables and all, for every path it
  evaluates: the InputPath, ResultPath and each `.$` parameter of every state), and the client a Task calls its
  service with is created once per Region and service (moto creates a boto3 client for every Task it runs). A parsed
  path holds only the path, and a client is thread-safe and holds no account state (moto's stubber answers from the
  active backends): behaviour is unchanged.
- GetExecutionHistory's pages are written as JSON here (`history_body`), the same JSON moto's serializer writes for
  them at a fraction of its cost.
- `wait_for_an_end`: the offline runner waits until an execution ends or is stopped, rather than polling.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import datetime as dt
import functools
import hashlib
import importlib
import json
import threading
import uuid
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from moto.stepfunctions.exceptions import InvalidToken, ValidationException
from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

_ended = threading.Condition()
_ends = 0


def ends() -> int:
    """How many times an execution has ended (or been stopped) in this process: for `wait_for_an_end`."""
    return _ends


def wait_for_an_end(after: int, timeout: float) -> None:
    """Wait until an execution ends (or is stopped) after `ends()` returned `after`, or `timeout` s: the offline
    runner waits on this instead of asking DescribeExecution every few milliseconds, which took the CPU from the
    execution it waited for."""
    with _ended:
        _ended.wait_for(lambda: _ends != after, timeout)


def _note_an_end() -> None:
    global _ends
    with _ended:
        _ends += 1
        _ended.notify_all()


def _remember_stop(original: Any) -> Any:
    def stop(self: Execution, stop_date: Any, error: str | None, cause: str | None) -> None:
        self._mesh_rollout_stopped = True  # type: ignore[attr-defined]
        original(self, stop_date, error, cause)
        _note_an_end()
        # moto only marks the program stopped: a Task waiting on a task token (or inside a Map waiting for such a
        # Task) would sleep for its whole timeout. As on AWS, a stop ends the waits at once.
        worker = self.exec_worker
        pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
        for endpoint in list(getattr(pool, "_pool", {}).values()):
            endpoint.interrupt_all()

    return stop


def _aborted_when_stopped(original: Any) -> Any:
    def reflect(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        if getattr(self.execution, "_mesh_rollout_stopped", False):
            self.execution.exec_status = ExecutionStatus.ABORTED
            self.execution.error = self.execution.cause = None
        _note_an_end()

    return reflect


def _lambda_service_errors_named(original: Any) -> Any:
    def from_error(self: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)  # type: ignore[no-any-return]
        # As AWS reports it: "Lambda.TooManyRequestsException", the message and the response details.
        code, metadata = ex.response["Error"]["Code"], ex.response.get("ResponseMetadata", {})
        error = f"Lambda.{code}"
        cause = (
            f"{ex.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code: {metadata.get('HTTPStatusCode')}; "
            f"Error Code: {code}; Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
            ),
        )

    return from_error


HISTORY_PAGE = 100  # GetExecutionHistory's maxResults when none (or 0) is given
HISTORY_PAGE_MAX = 1000


@functools.cache
def _execution_data() -> dict[str, tuple[str, ...]]:
    """Per `...EventDetails` member of HistoryEvent, its execution data: the members paired with a `<member>Details`."""
    event: Any = botocore.session.get_session().get_service_model("stepfunctions").shape_for("HistoryEvent")
    found = {}
    for name, details in event.members.items():
        members = getattr(details, "members", {})
        data = tuple(m for m in members if f"{m}Details" in members)
        if data:
            found[name] = data
    return found


def _history_events(backend: Any, execution_arn: str) -> list[dict[str, Any]]:
    """The execution's events so far, oldest first, without copying them (moto's own answer deep-copies all)."""
    execution = backend.describe_execution(execution_arn)  # ExecutionDoesNotExist, InvalidArn as moto has them
    manager = getattr(getattr(getattr(execution, "exec_worker", None), "env", None), "event_manager", None)
    if manager is None:  # not started yet, or moto's backend without execute_state_machine
        return list(backend.get_execution_history(execution_arn)["events"])
    with manager._mutex:  # events are appended under it, never changed
        return list(manager._history_event_list)


def _event_id(event: dict[str, Any]) -> int:
    return int(event["id"])


def _execution_key(execution_arn: str) -> str:
    return hashlib.sha256(execution_arn.encode()).hexdigest()[:16]


def _history_token(execution_arn: str, reverse: bool, next_id: int) -> str:
    """Opaque to callers: which execution, which order, and the id of the event the next page starts at."""
    return base64.urlsafe_b64encode(json.dumps([_execution_key(execution_arn), reverse, next_id]).encode()).decode()


def _history_position(token: str, execution_arn: str, reverse: bool) -> int:
    """The id of the event a page starts at; InvalidToken for a token of another execution or order, or not ours."""
    try:
        execution, token_reverse, next_id = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:  # not base64, not JSON, not three items
        raise InvalidToken(repr(token)) from exc
    if (execution, token_reverse) != (_execution_key(execution_arn), reverse) or type(next_id) is not int:
        raise InvalidToken(repr(token))
    return next_id


def _epoch(timestamp: str | dt.datetime) -> int | float:
    """An event's timestamp (moto keeps an ISO 8601 string) as the JSON protocol sends it: epoch seconds, to the
    millisecond, as moto's serializer writes it."""
    when = dt.datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else timestamp
    seconds = calendar.timegm(when.utctimetuple())
    return seconds + (when.microsecond // 1000) / 1000.0 if when.microsecond else seconds


def _paged_history(self: StepFunctionResponse) -> str:
    execution_arn = str(self._get_param("executionArn"))
    limit = self._get_param("maxResults") or HISTORY_PAGE
    if not 0 <= limit <= HISTORY_PAGE_MAX:  # botocore checks the minimum, AWS both
        bound = f"less than or equal to {HISTORY_PAGE_MAX}" if limit > 0 else "greater than or equal to 0"
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value {bound}"
        )
    reverse = bool(self._get_param("reverseOrder"))
    token = self._get_param("nextToken")
    events = _history_events(self.stepfunction_backend, execution_arn)
    position = None if token is None else _history_position(str(token), execution_arn, reverse)
    if reverse:  # newest first: the page ends at `position` (or the newest event) and the next one below it
        high = len(events) if position is None else bisect.bisect_right(events, position, key=_event_id)
        low = max(0, high - limit)
        page, following = events[low:high][::-1], events[low - 1]["id"] if low > 0 else None
    else:
        low = 0 if position is None else bisect.bisect_left(events, position, key=_event_id)
        high = low + limit
        page, following = events[low:high], events[high]["id"] if high < len(events) else None
    if self._get_param("includeExecutionData") is False:
        data = _execution_data()
        page = [
            {k: ({m: v for m, v in value.items() if m not in data[k]} if k in data else value) for k, value in event.items()}
            for event in page
        ]
    result: dict[str, Any] = {"events": page}
    if following is not None:
        result["nextToken"] = _history_token(execution_arn, reverse, following)
    return history_body(result)


def history_body(result: dict[str, Any]) -> str:
    """GetExecutionHistory's response body for `result` (`events` as moto keeps them, `nextToken`). moto's serializer
    walks HistoryEvent's shape for every member of every event, trying each spelling of its name: most of the CPU of
    an offline run's history reads. moto's events already hold the API's members and values, but for the timestamp (an
    ISO 8601 string): written directly they are the same JSON (tests/offline/test_emulator_history_json.py compares the two)."""
    events = [{**event, "timestamp": _epoch(event["timestamp"])} for event in result["events"]]
    return json.dumps({**result, "events": events}, separators=(",", ":"))


def _operation(task: StateTaskServiceSfn, action: str | None) -> Any:
    """The botocore operation model of a Step Functions integration's action ('start_execution')."""
    return _operation_model(task._get_boto_service_action(action))


@functools.cache
def _operation_model(action: str) -> Any:
    """Loaded once per action: each nested execution's start and end would otherwise read the service model again."""
    model = botocore.session.get_session().get_service_model("stepfunctions")
    return next(model.operation_model(name) for name in model.operation_names if botocore.xform_name(name) == action)


def _parameters_bound_to_the_model(original: Any) -> Any:
    def normalise(
        self: StateTaskServiceSfn,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        self._to_boto_request(parameters, _operation(self, service_action_name).input_shape)

    return normalise


def _response_as_step_functions_names_it(
    self: StateTaskServiceSfn, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    self._from_boto_response(response, _operation(self, service_action_name).output_shape)
    if isinstance(response, dict):  # timestamps are epoch milliseconds in a task's result, as in the API's JSON
        for key, value in response.items():
            if isinstance(value, dt.datetime):
                response[key] = int(value.timestamp() * 1000)


def _named_when_unnamed(original: Any) -> Any:
    def start_execution(
        self: StepFunctionsParserBackend, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


@functools.lru_cache(maxsize=64)
def _parsed(definition: str) -> Any:
    return _PARSE(definition)


_PARSE = AmazonStateLanguageParser.parse

# moto's own jsonpath-ng parsers (the extended one for paths it reads, the plain one for ResultPath), kept per path
_json_path = functools.lru_cache(maxsize=4096)(json_path.parse)  # type: ignore[attr-defined]
_result_path = functools.lru_cache(maxsize=4096)(result_path.parse)  # type: ignore[attr-defined]
_MOTO_CLIENT_FOR = boto_client.boto_client_for
# the interpreter's modules that create a client for each Task they run (Lambda, and each service integration)
_TASKS = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
_TASKS_WITH_CLIENTS = (
    "lambda_eval_utils",
    *(f"service.state_task_service_{name}" for name in ("aws_sdk", "dynamodb", "ecs", "events", "sfn", "sns", "sqs")),
)
_clients_lock = threading.Lock()


@functools.cache
def _client_for(region: str, service: str, intercepting: bool) -> Any:
    return _MOTO_CLIENT_FOR(region, service)


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client for a Task (moto ignores the state's credentials too), kept per Region and service."""
    with _clients_lock:
        return _client_for(region, service, boto_client.botocore_stubber.enabled)


def install() -> None:
    AmazonStateLanguageParser.parse = staticmethod(_parsed)  # type: ignore[method-assign,assignment]
    StepFunctionsParserBackend.start_execution = _named_when_unnamed(StepFunctionsParserBackend.start_execution)  # type: ignore[method-assign]
    StateTaskServiceSfn._normalise_parameters = _parameters_bound_to_the_model(  # type: ignore[method-assign]
        StateTaskServiceSfn._normalise_parameters
    )
    StateTaskServiceSfn._normalise_response = _response_as_step_functions_names_it  # type: ignore[method-assign,assignment]
    Execution.stop = _remember_stop(Execution.stop)  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication._reflect_execution_status = _aborted_when_stopped(  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication._reflect_execution_status
    )
    StateTaskLambda._from_error = _lambda_service_errors_named(StateTaskLambda._from_error)  # type: ignore[method-assign]
    StepFunctionResponse.get_execution_history = _paged_history  # type: ignore[method-assign,assignment]
    json_path.parse = _json_path  # type: ignore[attr-defined]
    result_path.parse = _result_path  # type: ignore[attr-defined]
    for task_module in _TASKS_WITH_CLIENTS:
        task: Any = importlib.import_module(f"{_TASKS}.{task_module}")
        task.boto_client_for = _boto_client_for
