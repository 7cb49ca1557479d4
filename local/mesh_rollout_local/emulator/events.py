"""EventBridge in the emulated account: rules deliver matching events to their Lambda targets.

moto 5.2.5 delivers a matching event only to CloudWatch Logs, SQS, archives and event buses
(`moto.events.models.Rule.send_to_targets`); a Lambda target raises NotImplementedError. Here a rule's Lambda
targets get the event as EventBridge sends it: invoked asynchronously ("EventBridge invokes your function
asynchronously", https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge.html), each in a thread of its
own, through moto's Lambda (so an OfflineAccount's in-process handlers run). The event is the target's `Input`
(constant JSON), its `InputPath`, its `InputTransformer`, or the whole event with `time` as an ISO 8601 string
(https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html). A DISABLED rule delivers
nothing to its Lambda targets. Other targets are left to moto.

`wait_deliveries(timeout)` waits until every delivery started so far has returned (for tests).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import threading
from typing import Any

from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.utilities.arns import parse_arn

log = logging.getLogger(__name__)
_deliveries: set[threading.Thread] = set()
_deliveries_lock = threading.Lock()


def _iso(value: Any) -> Any:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _payload(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        value: Any = event
        for part in [p for p in target["InputPath"].removeprefix("$").split(".") if p]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
    return event


def _invoke(function_arn: str, body: str) -> None:
    from moto.awslambda.models import lambda_backends

    arn = parse_arn(function_arn)
    try:
        lambda_backends[arn.account][arn.region].invoke(function_arn, None, body, {"X-Amz-Invocation-Type": "Event"}, {})
    except Exception:  # an asynchronous invocation's error reaches nobody (it would go to a DLQ/destination)
        log.exception("EventBridge -> %s failed", function_arn)
    finally:
        with _deliveries_lock:
            _deliveries.discard(threading.current_thread())


def _deliver(target: dict[str, Any], event: dict[str, Any]) -> None:
    event = {k: v for k, v in copy.deepcopy(event).items() if k != "ingestion-time"}
    event["time"] = _iso(event.get("time"))
    body = json.dumps(_payload(target, event))
    thread = threading.Thread(target=_invoke, args=(target["Arn"], body), daemon=True, name="eventbridge-lambda")
    with _deliveries_lock:
        _deliveries.add(thread)
    thread.start()


def wait_deliveries(timeout: float = 10.0) -> bool:
    """Wait until the deliveries started so far have returned; False if some still run after `timeout` seconds."""
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
    while True:
        with _deliveries_lock:
            running = list(_deliveries)
        if not running:
            return True
        left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
        if left <= 0:
            return False
        running[0].join(left)


def _send_to_targets_with_lambda(original: Any) -> Any:
    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
        if not lambdas:
            return original(self, original_event, transform_input)  # type: ignore[no-any-return]
        if self.event_pattern.matches_event(original_event) and self.state != "DISABLED":
            for target in lambdas:
                _deliver(target, original_event)
        others = copy.copy(self)  # moto's own delivery, without the Lambda targets it cannot handle
        others.targets = [t for t in self.targets if t not in lambdas]
        return original(others, original_event, transform_input)  # type: ignore[no-any-return]

    return send_to_targets


def install() -> None:
    Rule.send_to_targets = _send_to_targets_with_lambda(Rule.send_to_targets)  # type: ignore[method-assign]
