"""Inject AWS faults at the HTTP layer of the emulated account, under botocore's own retries.

A fault matches requests by service and operation (and optionally a substring of the URL, e.g. a Lambda
function's name) and hits the next `times` of them, each attempt of botocore's retries counting as one:

- `error`: the request is refused with an error response in the service's own protocol (code and HTTP
  status, e.g. SNS `Throttled` 429, DynamoDB `ProvisionedThroughputExceededException` 400); nothing happens.
- `lost-response`: the request reaches the emulator and takes effect, then the response is lost
  (botocore's ReadTimeoutError), as when a connection drops between a call and its response.
- `connect-timeout`: the request never leaves (botocore's ConnectTimeoutError); nothing happens.

Faults on `lambda`/`Invoke` are Lambda service errors as Step Functions sees them when it invokes a task's
function (`Lambda.TooManyRequestsException` after the interpreter's own retries).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

Kind = Literal["error", "lost-response", "connect-timeout"]


@dataclass
class Fault:
    service: str
    operation: str
    kind: Kind = "error"
    code: str = "ThrottlingException"
    status: int = 400
    message: str = "Rate exceeded"
    times: int = 1
    url_contains: str = ""
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        model = botocore.session.get_session().get_service_model(self.service)
        self.event_prefix = f"before-send.{model.service_id.hyphenize()}.{self.operation}"
        self.protocol = model.protocol

    def matches(self, event_name: str, request: AWSPreparedRequest) -> bool:
        return event_name == self.event_prefix and self.url_contains in request.url and self.hits < self.times


def _error_body(protocol: str, request: AWSPreparedRequest, code: str, message: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of an error response as botocore parses it for the protocol the request used."""
    content_type = str(request.headers.get("Content-Type", b"") or "")
    if "json" in content_type or protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "code": code, "message": message, "Message": message}).encode()
        return {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}, body
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return {"Content-Type": "text/xml"}, xml.encode()


class FaultPlan:
    """The faults of one emulated account; `intercept` wraps moto's request handler."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, service: str, operation: str, **settings: Any) -> Fault:
        fault = Fault(service, operation, **settings)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take(self, event_name: str, request: AWSPreparedRequest) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(event_name, request):
                    fault.hits += 1
                    return fault
        return None

    def intercept(
        self, handle: Callable[[], AWSResponse | None], event_name: str, request: AWSPreparedRequest
    ) -> AWSResponse | None:
        fault = self._take(event_name, request)
        if fault is None:
            return handle()
        if fault.kind == "connect-timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        if fault.kind == "lost-response":
            handle()  # it happened; only the answer is lost
            raise ReadTimeoutError(endpoint_url=request.url)
        headers, body = _error_body(fault.protocol, request, fault.code, fault.message)
        return AWSResponse(request.url, fault.status, headers, MockRawResponse(body))  # type: ignore[arg-type]
