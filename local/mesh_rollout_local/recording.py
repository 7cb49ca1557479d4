"""Record the AWS calls a handler makes while it runs, per thread (the runner's own calls and moto's are not)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
import botocore.exceptions

# A handler's AWS call as `replay_given_runs` replays it: service, operation, parameters and the error code AWS
# answered with (None: it succeeded).
RecordedCall = tuple[str, str, dict[str, Any], str | None]
# A handler's AWS call as its role must allow it: service, operation and the parameters as the handler passed them
HandlerCall = tuple[str, str, dict[str, Any]]

_calls = threading.local()
_installed = False


def install() -> None:
    """Count every AWS call made while a handler runs (per thread, so the runner's own calls are not)."""
    global _installed
    if _installed:
        return
    original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 - private, untyped

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        sink = getattr(_calls, "sink", None)
        if sink is not None:
            sink.append((self.meta.service_model.service_name, operation_name))
        requests: list[HandlerCall] | None = getattr(_calls, "requests", None)
        if requests is not None:  # before the call: botocore rewrites some parameters in place (Route 53's ids)
            requests.append((self.meta.service_model.service_name, operation_name, copy.deepcopy(api_params)))
        record: list[RecordedCall] | None = getattr(_calls, "record", None)
        if record is None:
            return original(self, operation_name, api_params)
        service, params = self.meta.service_model.service_name, copy.deepcopy(api_params)
        try:
            response = original(self, operation_name, api_params)
        except botocore.exceptions.ClientError as exc:
            record.append((service, operation_name, params, str(exc.response["Error"]["Code"])))
            raise
        record.append((service, operation_name, params, None))
        return response

    setattr(botocore.client.BaseClient, "_make_api_call", _make_api_call)  # noqa: B010 - private, untyped
    _installed = True


@contextmanager
def calls_of_this_thread(
    sink: list[tuple[str, str]],
    record: list[RecordedCall] | None = None,
    requests: list[HandlerCall] | None = None,
) -> Iterator[None]:
    """While the block runs, this thread's AWS calls go to `sink` (service, operation), and, if given, to `record`
    (with parameters and outcome, for a replay) and `requests` (with parameters, for the role's policy)."""
    _calls.sink, _calls.record, _calls.requests = sink, record, requests
    try:
        yield
    finally:
        _calls.sink = _calls.record = _calls.requests = None
