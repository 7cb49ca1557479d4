"""Powertools singletons shared by every handler, and the settings handlers read from the environment.

Tracing costs nothing at import. Lambda's active tracing records each invocation's segment by itself; what the
function adds is a `## lambda_handler` subsegment (ColdStart and Service annotations, the response or error as
metadata) and a subsegment per AWS call, which Powertools' Tracer gets by patching botocore through the X-Ray
SDK. Importing that SDK and making the Tracer took ~45 ms of every cold start, so `tracer` here is a facade:
its `capture_lambda_handler` makes the real Tracer on the first invocation, and only when Powertools would
trace (in Lambda, POWERTOOLS_TRACE_DISABLED not true, not SAM local or Chalice). With tracing on, that first
invocation pays the SDK once per container (`make bench` prints how much); with it off, nothing is loaded.
AWS clients made before then are traced too: the patch is on botocore's client class.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

SERVICE = "mesh-rollout"
Handler = TypeVar("Handler", bound=Callable[..., Any])


class LazyTracer:
    """Powertools' Tracer, made on the first traced invocation instead of at import."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Tracer | None = None

    @staticmethod
    def enabled() -> bool:
        """Powertools' own rule, which Tracer applies when it is made: off when POWERTOOLS_TRACE_DISABLED is true,
        outside Lambda (no LAMBDA_TASK_ROOT), in SAM local or Chalice
        (https://docs.powertools.aws.dev/lambda/python/latest/core/tracer/). Powertools answers it only through a
        private method or a Tracer made (which imports the X-Ray SDK), so it is said here with Powertools' own
        environment variable names and parser (aws_lambda_powertools.tracing.tracer, 3.37)."""
        if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
            return False
        emulated = os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV)
        return bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV)) and not emulated

    @property
    def tracer(self) -> Tracer:
        """The real Tracer (imports the X-Ray SDK and patches botocore and the other supported modules once)."""
        if self._tracer is None:
            self._tracer = Tracer(service=self.service)
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """Powertools' capture_lambda_handler, decided per invocation: untraced calls go straight through."""
        traced: list[Callable[..., Any]] = []

        @functools.wraps(handler)
        def invoke(event: Any, context: Any) -> Any:
            if not self.enabled():
                return handler(event, context)
            if not traced:
                traced.append(self.tracer.capture_lambda_handler(handler))
            return traced[0](event, context)

        return invoke  # type: ignore[return-value]


logger = Logger(service=SERVICE)
tracer = LazyTracer(service=SERVICE)
metrics = Metrics(namespace="MeshRollout", service=SERVICE)

# Handler events carry the execution ARN here; Logger uses it as the correlation id.
CORRELATION_PATH = "executionArn"


def count_unsent_notification(result: Mapping[str, Any], message: str = "outcome notification not sent") -> None:
    """A notice the step could not publish (`notified` False): the outcome stands, the miss is logged with its
    `notificationError` and counted (NotificationsFailed). A result without `notified` published nothing to miss."""
    if result.get("notified") is False:
        logger.warning(message, extra={"error": result["notificationError"]})
        metrics.add_metric(name="NotificationsFailed", unit="Count", value=1)


def envoy_image() -> str:
    """The stack's EnvoyImage parameter, or the current App Mesh image for this region."""
    from mesh_rollout.onboarding.envoy import default_envoy_image

    return os.environ.get("ENVOY_IMAGE") or default_envoy_image(os.environ.get("AWS_REGION", "us-east-1"))
