"""boto3 clients and the translation of AWS errors into named errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from mesh_rollout.errors import (
    AwsRequestRejected,
    MeshResourceNotFound,
    ResourceConflict,
    TransientAwsError,
)

# botocore's own retries stay on (standard mode) for the short blips; what survives them becomes a
# TransientAwsError that the state machine retries with backoff and jitter.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, user_agent_extra="mesh-rollout")
_lock = threading.Lock()
_clients: dict[str, Any] = {}

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalServerErrorException",
        "InternalFailure",
        "ServerException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ProvisionedThroughputExceededException",
        "KMSThrottlingException",
    }
)
CONFLICT_CODES = frozenset({"ConflictException", "ResourceInUseException", "UpdateInProgressException"})
NOT_FOUND_CODES = frozenset({"NotFoundException", "ResourceNotFoundException", "ServiceNotFoundException"})


def client(service: str) -> Any:
    """One boto3 client per service per process (clients are thread-safe, creating them is not)."""
    with _lock:
        if service not in _clients:
            _clients[service] = cast(Any, boto3.session.Session()).client(service, config=_CONFIG)
        return _clients[service]


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
        if code in TRANSIENT_CODES or status >= 500:
            return TransientAwsError(message)
        if code in CONFLICT_CODES:
            return ResourceConflict(message)
        if code in NOT_FOUND_CODES:
            return MeshResourceNotFound(message)
        return AwsRequestRejected(message)
    if isinstance(exc, (ConnectionError, ReadTimeoutError)):
        return TransientAwsError(f"{action}: {exc}")
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
