"""How AWS SDK failures become devprov's typed cloud errors (adapters/aws_iot/errors.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from adapters.aws_iot import cloud_error
from domain.errors import ErrorCode


def client_error(
    code: str, status: int, message: str = "", headers: dict[str, str] | None = None
) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": headers or {},
                "RequestId": "req-1",
                "HostId": "",
                "RetryAttempts": 0,
            },
        },
        "CreateThing",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected", "retryable"),
    [
        ("ThrottlingException", 400, ErrorCode.CLOUD_RATE_LIMITED, True),
        ("TooManyRequestsException", 429, ErrorCode.CLOUD_RATE_LIMITED, True),
        ("ServiceUnavailableException", 503, ErrorCode.CLOUD_UNAVAILABLE, True),
        ("InternalFailureException", 500, ErrorCode.CLOUD_UNAVAILABLE, True),
        ("", 502, ErrorCode.CLOUD_UNAVAILABLE, True),
        ("DeleteConflictException", 409, ErrorCode.CLOUD_CONFLICT, True),
        ("ResourceAlreadyExistsException", 409, ErrorCode.CLOUD_CONFLICT, False),
        ("VersionConflictException", 409, ErrorCode.CLOUD_CONFLICT, False),
        ("CertificateStateException", 406, ErrorCode.CLOUD_CONFLICT, False),
        ("ResourceNotFoundException", 404, ErrorCode.CLOUD_NOT_FOUND, False),
        ("UnauthorizedException", 401, ErrorCode.CLOUD_UNAUTHORIZED, False),
        ("UnrecognizedClientException", 403, ErrorCode.CLOUD_UNAUTHORIZED, False),
        ("AccessDeniedException", 403, ErrorCode.CLOUD_FORBIDDEN, False),
        ("InvalidRequestException", 400, ErrorCode.CLOUD_INVALID_REQUEST, False),
        ("LimitExceededException", 410, ErrorCode.CLOUD_INVALID_REQUEST, False),
        ("SomethingNew", 200, ErrorCode.CLOUD_PROTOCOL_ERROR, False),
    ],
)
def test_aws_error_codes_map_to_stable_cloud_codes(
    code: str, status: int, expected: ErrorCode, retryable: bool
) -> None:
    error = cloud_error(client_error(code, status), operation="CreateThing")

    assert error.code is expected
    assert error.retryable is retryable
    assert error.details["operation"] == "CreateThing"
    assert error.details["http_status"] == str(status)
    assert error.details["request_id"] == "req-1"


def test_throttling_without_a_named_delay_waits_the_configured_time() -> None:
    error = cloud_error(
        client_error("ThrottlingException", 400, "Rate exceeded"),
        operation="AttachPolicy",
        throttle_retry_after=2.5,
    )

    assert error.retry_after == 2.5
    assert "Rate exceeded" in error.message


def test_a_named_delay_is_used_as_it_is() -> None:
    error = cloud_error(
        client_error("ThrottlingException", 400, headers={"retry-after": "9"}),
        operation="AttachPolicy",
    )

    assert error.retry_after == 9


def test_a_delete_conflict_waits_for_the_detach_to_propagate() -> None:
    error = cloud_error(client_error("DeleteConflictException", 409), operation="DeleteThing")

    assert error.retry_after is not None
    assert error.retry_after > 0


@pytest.mark.parametrize(
    ("raised", "expected", "retryable"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "CLOUD_UNAVAILABLE", True),
        (ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), "CLOUD_UNAVAILABLE", True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), "CLOUD_TIMEOUT", True),
        (NoCredentialsError(), "CLOUD_UNAUTHORIZED", False),
        (NoRegionError(), "CLOUD_INVALID_REQUEST", False),
        (RuntimeError("boom"), "CLOUD_PROTOCOL_ERROR", False),
    ],
)
def test_sdk_failures_map_to_stable_cloud_codes(
    raised: Exception, expected: str, retryable: bool
) -> None:
    error = cloud_error(raised, operation="DescribeThing", details={"thing_name": "plug-1"})

    assert error.code.value == expected
    assert error.retryable is retryable
    assert error.details["thing_name"] == "plug-1"


def test_a_long_aws_message_is_clipped() -> None:
    error = cloud_error(client_error("InvalidRequestException", 400, "x" * 10_000), operation="X")

    assert len(error.message) < 500
