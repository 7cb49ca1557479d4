"""AWS errors become the named errors the state machines retry or catch."""

from __future__ import annotations

import importlib
import re

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from mesh_rollout.aws import classify, named_aws_errors
from mesh_rollout.errors import AwsRequestRejected, MeshResourceNotFound, ResourceConflict, TransientAwsError
from tests.conftest import ROOT


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "UpdateRoute")


@pytest.mark.parametrize(
    ("code", "status", "named"),
    [
        ("TooManyRequestsException", 429, TransientAwsError),
        ("ThrottlingException", 400, TransientAwsError),
        ("Throttling", 400, TransientAwsError),  # CloudWatch
        ("Throttled", 429, TransientAwsError),  # SNS
        ("KMSThrottling", 400, TransientAwsError),  # SNS publishing to a KMS-encrypted topic
        ("ProvisionedThroughputExceededException", 400, TransientAwsError),  # DynamoDB
        ("RequestLimitExceeded", 400, TransientAwsError),
        ("SlowDown", 503, TransientAwsError),
        ("KmsThrottlingException", 400, TransientAwsError),  # Step Functions
        ("AnyCodeAtAll", 429, TransientAwsError),
        ("InternalServerErrorException", 500, TransientAwsError),
        ("ServiceUnavailableException", 503, TransientAwsError),
        ("InternalFailure", 502, TransientAwsError),
        ("RequestTimeout", 408, TransientAwsError),
        ("ConflictException", 409, ResourceConflict),
        ("NotFoundException", 404, MeshResourceNotFound),
        ("ForbiddenException", 403, AwsRequestRejected),
        ("AccessDeniedException", 400, AwsRequestRejected),
        ("BadRequestException", 400, AwsRequestRejected),
        ("LimitExceededException", 400, AwsRequestRejected),  # an account quota in the APIs we call: retrying won't help
    ],
)
def test_client_errors_are_classified(code: str, status: int, named: type) -> None:
    error = classify(client_error(code, status), "UpdateRoute apps/serviceB/serviceB")
    assert type(error) is named
    assert str(error) == f"UpdateRoute apps/serviceB/serviceB: {code}: m"


# The throttling and server errors each service we call documents (its API reference's Errors section and the
# common errors), with the HTTP status AWS answers them with: written out here, not read from the code under test.
DOCUMENTED_TRANSIENT = {
    "appmesh": [("TooManyRequestsException", 429), ("InternalServerErrorException", 500), ("ServiceUnavailableException", 503)],
    "cloudwatch": [("Throttling", 400), ("InternalServiceError", 500), ("ServiceUnavailable", 503)],
    "dynamodb": [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
    ],
    "ec2": [("RequestLimitExceeded", 503), ("InternalError", 500), ("Unavailable", 503)],
    "ecs": [("ThrottlingException", 400), ("ServerException", 500)],
    "elbv2": [("Throttling", 400), ("PriorRequestNotComplete", 429)],
    "iam": [("Throttling", 400), ("ServiceFailure", 500)],
    "route53": [("PriorRequestNotComplete", 400), ("ThrottlingException", 400), ("Throttling", 400)],
    "sns": [("Throttled", 429), ("KMSThrottling", 400), ("InternalError", 500)],
    "ssm": [("ThrottlingException", 400), ("InternalServerError", 500)],
    "stepfunctions": [("ThrottlingException", 400), ("KmsThrottlingException", 400)],
    "vpc-lattice": [("ThrottlingException", 429), ("InternalServerException", 500)],
}


def test_the_documented_table_covers_every_service_a_handler_calls() -> None:
    """The services are read from the code's `client("...")` calls, not from the list the classifier uses."""
    called = {
        name
        for path in (ROOT / "functions").rglob("*.py")
        for name in re.findall(r"\bclient\(\"([a-z0-9-]+)\"", path.read_text())
    }
    assert {"ecs", "elbv2", "vpc-lattice"} <= called  # the search itself finds what we know is called
    assert called == set(DOCUMENTED_TRANSIENT)


@pytest.mark.parametrize(
    ("service", "code", "status"),
    [(service, code, status) for service, errors in DOCUMENTED_TRANSIENT.items() for code, status in errors],
)
def test_every_documented_throttle_and_server_error_is_transient(service: str, code: str, status: int) -> None:
    assert type(classify(client_error(code, status), "x")) is TransientAwsError


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        EndpointConnectionError(endpoint_url="https://appmesh"),
        ConnectionClosedError(endpoint_url="https://sns"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_errors_are_transient(exc: Exception) -> None:
    error = classify(exc, "PutItem lock")
    assert type(error) is TransientAwsError
    assert str(error).startswith(f"PutItem lock: {type(exc).__name__}: ")


def test_other_botocore_errors_are_rejected_and_other_exceptions_pass_through() -> None:
    assert type(classify(ParamValidationError(report="bad"), "x")) is AwsRequestRejected
    error = KeyError("x")
    assert classify(error, "x") is error


def test_a_botocore_error_a_handler_lets_through_reaches_the_state_machine_named() -> None:
    @named_aws_errors
    def handler(event: object, context: object) -> None:
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-west-2.amazonaws.com/")

    with pytest.raises(TransientAwsError, match="ReadTimeoutError: Read timeout on endpoint URL"):
        handler({}, None)


HANDLERS = sorted(p.stem for p in (ROOT / "functions" / "handlers").glob("[a-z]*.py"))


@pytest.mark.parametrize("module", HANDLERS)
def test_every_handler_names_the_aws_errors_that_escape_it(module: str) -> None:
    function = importlib.import_module(f"handlers.{module}").lambda_handler
    wrapped = []
    while function is not None:
        wrapped.append(function.__code__ is named_aws_errors(lambda: None).__code__)
        function = getattr(function, "__wrapped__", None)
    assert any(wrapped), f"handlers.{module}.lambda_handler is not decorated with @named_aws_errors"


def test_the_handler_list_is_every_handler_the_template_deploys() -> None:
    deployed = set(re.findall(r"Handler: handlers\.(\w+)\.lambda_handler", (ROOT / "template.yaml").read_text()))
    assert len(deployed) > 20
    assert set(HANDLERS) == deployed
