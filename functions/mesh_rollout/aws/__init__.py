"""boto3 clients and the translation of AWS errors into named errors."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from mesh_rollout.errors import (
    AwsRequestRejected,
    MeshResourceNotFound,
    ResourceConflict,
    TransientAwsError,
)

# botocore's own retries stay on (standard mode) for the short blips; what survives them becomes a
# TransientAwsError that the state machine retries with backoff and jitter.
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 4}, user_agent_extra="mesh-rollout")
# A call that is not idempotent (RegisterTaskDefinition) must not be re-sent blindly after a lost response:
# it gets one attempt, and the caller looks for what the lost call may have done before trying again.
_SINGLE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1}, user_agent_extra="mesh-rollout")
_lock = threading.Lock()
# botocore's standard retry mode lists (private class attributes; botocore-stubs does not declare them)
TRANSIENT_EXCEPTIONS: tuple[type[Exception], ...] = vars(TransientRetryableChecker)["_TRANSIENT_EXCEPTION_CLS"]
_clients: dict[tuple[str, str | None, bool], Any] = {}
Handler = TypeVar("Handler", bound=Callable[..., Any])

# The services our handlers call: their modelled throttling and server errors are transient too.
SERVICES_CALLED = (
    "appmesh",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecs",
    "elbv2",
    "iam",
    "kms",
    "route53",
    "sns",
    "ssm",
    "stepfunctions",
    "sts",
    "vpc-lattice",
)
# botocore counts LimitExceededException as throttling, but the APIs we call use it for account quotas
# (App Mesh resources per mesh, ECS, CloudWatch, KMS): retrying does not help.
QUOTA_CODES = frozenset({"LimitExceededException"})


@functools.cache
def transient_codes() -> frozenset[str]:
    """Error codes retried with backoff: botocore's own throttling and transient lists, plus every error the
    called services' models mark retryable, call throttling, or answer with 429 or 5xx (read on first use
    only: errors are the rare path, and loading service models costs cold-start time)."""
    codes = set(vars(ThrottledRetryableChecker)["_THROTTLED_ERROR_CODES"]) | set(
        vars(TransientRetryableChecker)["_TRANSIENT_ERROR_CODES"]
    )
    loader = botocore.session.get_session()
    for service in SERVICES_CALLED:
        for shape in loader.get_service_model(service).error_shapes:
            error = shape.metadata.get("error", {})
            code, status = str(error.get("code", shape.name)), int(error.get("httpStatusCode", 0) or 0)
            if shape.metadata.get("retryable") or "hrottl" in code or status == 429 or status >= 500:
                codes.update({code, shape.name})
    return frozenset(codes - QUOTA_CODES)


CONFLICT_CODES = frozenset({"ConflictException", "ResourceInUseException", "UpdateInProgressException"})
NOT_FOUND_CODES = frozenset({"NotFoundException", "ResourceNotFoundException", "ServiceNotFoundException"})


def client(service: str, region: str | None = None, *, single_attempt: bool = False) -> Any:
    """One boto3 client per service per process (clients are thread-safe, creating them is not)."""
    key = (service, region, single_attempt)
    with _lock:
        if key not in _clients:
            config = _SINGLE_ATTEMPT if single_attempt else _CONFIG
            _clients[key] = cast(Any, boto3.session.Session()).client(service, region_name=region, config=config)
        return _clients[key]


def single_attempt(any_client: Any) -> Any:
    """The same service and Region as `any_client`, without botocore's retries."""
    return client(any_client.meta.service_model.service_name, any_client.meta.region_name, single_attempt=True)


def reset_clients() -> None:
    """Forget cached clients (tests and the local runner start from a fresh account)."""
    with _lock:
        _clients.clear()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def classify(exc: Exception, action: str) -> Exception:
    """Map a botocore exception to the named error the state machine understands."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = f"{action}: {code}: {exc.response.get('Error', {}).get('Message', '')}"
        if code in transient_codes() or status == 429 or status >= 500:
            return TransientAwsError(message)
        if code in CONFLICT_CODES:
            return ResourceConflict(message)
        if code in NOT_FOUND_CODES:
            return MeshResourceNotFound(message)
        return AwsRequestRejected(message)
    if isinstance(exc, TRANSIENT_EXCEPTIONS):  # connect and read timeouts, closed connections, no endpoint
        return TransientAwsError(f"{action}: {type(exc).__name__}: {exc}")
    if isinstance(exc, BotoCoreError):
        return AwsRequestRejected(f"{action}: {exc}")
    return exc


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Re-raise any botocore error inside the block as a named error, keeping the cause."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc, action) from exc


def is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


def unless_missing(call: Callable[..., Any], action: str, **params: Any) -> dict[str, Any] | None:
    """`call(**params)`'s response, or None if AWS answers that the resource does not exist; other errors named."""
    try:
        response: dict[str, Any] = call(**params)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise classify(exc, action) from exc
    return response


def named_aws_errors(handler: Handler) -> Handler:
    """Handler decorator: a botocore exception the domain code let through still reaches the state machine as
    a named error (throttling, 5xx and timeouts as TransientAwsError), never under botocore's own name."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc, str(getattr(exc, "operation_name", "") or "AWS call")) from exc

    return cast(Handler, wrapper)
