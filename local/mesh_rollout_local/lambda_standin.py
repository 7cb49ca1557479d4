"""The template's functions as Lambda runs them, in this process: moto's Invoke calls the real handler with the
function's environment and a context object, and its AWS calls are tallied for the run that caused them."""

from __future__ import annotations

import importlib
import io
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction

from mesh_rollout_local import recording
from mesh_rollout_local.isolation import HandlerIsolation
from mesh_rollout_local.recording import HandlerCall, RecordedCall
from mesh_rollout_local.results import RunTally

_handler_clients_region: str | None = None  # the Region of the handlers' cached clients (share_handler_clients)
_handler_clients_lock = threading.Lock()


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def share_handler_clients(region: str) -> None:
    """The handlers' clients (one per service, as in Lambda) serve every account of this Region: a client holds
    no account state (moto answers from the backends mock_aws has active) and the credentials are the same fake
    ones, while creating one costs more than most emulated calls. Another Region gets new ones."""
    from mesh_rollout.aws import reset_clients  # importable only once CodeUri is on sys.path

    global _handler_clients_region
    with _handler_clients_lock:
        if _handler_clients_region != region:
            reset_clients()
            _handler_clients_region = region


def load_handler(handler: str) -> Callable[..., Any]:
    module_name, _, function_name = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)  # type: ignore[no-any-return]


class LambdaStandIn:
    """The handlers of an account's functions, each with its environment, and what they did."""

    def __init__(self, handler_output: io.TextIOBase | None = None, record_requests: bool = False) -> None:
        self.handler_output = handler_output
        self.handlers: dict[str, tuple[Callable[..., Any], dict[str, str]]] = {}
        self.arns: dict[str, str] = {}
        # every call each function's handler made, with its parameters, in order (tests/offline/test_iam.py evaluates them
        # against the function's role); only if asked: it copies every call's parameters
        self.requests_by_function: dict[str, list[HandlerCall]] | None = {} if record_requests else None
        # every (service, operation) each function's handler called, over all runs: what its role must allow
        self.calls_by_function: dict[str, set[tuple[str, str]]] = {}
        # assertions that failed inside a handler (a test's replacement or `intercept` callback): the execution gets
        # them as a Lambda error, like any error; `run` then raises the first, so the test fails on it
        self.failed_assertions: list[AssertionError] = []
        # the handlers' calls with parameters and outcomes, while a given run is recorded for replay (given.py)
        self.record: list[RecordedCall] | None = None
        # the tally of the run going on, on top of those it nests in (a run started from an approver); the bottom
        # one counts what handlers do outside any run
        self._tallies: list[RunTally] = [RunTally()]
        self._lock = threading.Lock()
        self.isolation = HandlerIsolation()

    def add(self, function: str, arn: str, handler: str, env: dict[str, str]) -> None:
        self.arns[function] = arn
        self.handlers[function] = (load_handler(handler), {**env, "AWS_LAMBDA_FUNCTION_NAME": function})

    def redirect_logs(self, stack: ExitStack) -> None:
        """Powertools' Logger holds the stream it was created with; point it at handler_output while `stack` lasts."""
        if self.handler_output is None:
            return
        from mesh_rollout.observability import logger

        handler = logger.registered_handler
        previous = handler.setStream(self.handler_output)  # type: ignore[attr-defined]
        stack.callback(handler.setStream, previous)  # type: ignore[attr-defined]

    def environment(self, function: str) -> dict[str, str]:
        return dict(self.handlers[function][1])

    def intercept(self, function: str, before: Callable[[dict[str, Any]], None]) -> None:
        handler, env = self.handlers[function]

        def intercepted(event: dict[str, Any], context: Any) -> Any:
            before(event)
            return handler(event, context)

        self.handlers[function] = (intercepted, env)

    def raise_failed_assertion(self) -> None:
        if self.failed_assertions:
            first, self.failed_assertions = self.failed_assertions[0], []
            raise first

    @contextmanager
    def tally(self) -> Iterator[RunTally]:
        """A fresh tally while the block runs (a run); the one it nests in gets none of its calls."""
        self._tallies.append(RunTally())
        try:
            yield self._tallies[-1]
        finally:
            self._tallies.pop()

    def patched_invoke(self) -> Callable[..., bytes]:
        """moto's LambdaFunction.invoke, answered by our handler."""
        stand_in = self

        def invoke(fn: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            return stand_in.invoke(fn.function_name, body, response_headers)

        return invoke

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        handler, env = self.handlers[function_name]
        event = json.loads(body) if body else {}
        context = LambdaContext(function_name, self.arns[function_name])
        # One handler at a time: on AWS each function runs in a process of its own, here they share
        # Powertools' module-level Logger and Metrics. The environment and output are per thread
        # (HandlerIsolation), so moto's worker threads never see them change.
        with self._lock, self.isolation.handler(env, self.handler_output):  # type: ignore[arg-type]
            tally = self._tallies[-1]
            requests = None if self.requests_by_function is None else self.requests_by_function.setdefault(function_name, [])
            tally.invocations += 1
            first_call = len(tally.calls)
            try:
                with recording.calls_of_this_thread(tally.calls, self.record, requests):
                    return json.dumps(handler(event, context)).encode()
            except Exception as exc:  # every error must reach the ASL under its own name
                if isinstance(exc, AssertionError):
                    self.failed_assertions.append(exc)
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": traceback.format_exception(exc)[-3:],
                    }
                ).encode()
            finally:
                tally.invocation_calls.append(tally.calls[first_call:])
                self.calls_by_function.setdefault(function_name, set()).update(tally.calls[first_call:])
