"""AWS errors become the named errors the state machines retry or catch."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from mesh_rollout.aws import classify
from mesh_rollout.errors import AwsRequestRejected, MeshResourceNotFound, ResourceConflict, TransientAwsError


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "UpdateRoute")


@pytest.mark.parametrize(
    ("code", "status", "named"),
    [
        ("TooManyRequestsException", 429, TransientAwsError),
        ("ThrottlingException", 400, TransientAwsError),
        ("InternalServerErrorException", 500, TransientAwsError),
        ("ServiceUnavailableException", 503, TransientAwsError),
        ("ConflictException", 409, ResourceConflict),
        ("NotFoundException", 404, MeshResourceNotFound),
        ("ForbiddenException", 403, AwsRequestRejected),
        ("AccessDeniedException", 400, AwsRequestRejected),
        ("BadRequestException", 400, AwsRequestRejected),
        ("LimitExceededException", 400, AwsRequestRejected),
    ],
)
def test_client_errors_are_classified(code: str, status: int, named: type) -> None:
    error = classify(client_error(code, status), "UpdateRoute apps/serviceB/serviceB")
    assert type(error) is named
    assert str(error) == f"UpdateRoute apps/serviceB/serviceB: {code}: m"


def test_connection_errors_are_transient() -> None:
    assert type(classify(EndpointConnectionError(endpoint_url="https://appmesh"), "x")) is TransientAwsError


def test_other_exceptions_pass_through() -> None:
    error = KeyError("x")
    assert classify(error, "x") is error
