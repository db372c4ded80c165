"""AWS SDK failures as devprov's typed cloud errors, with stable codes.

The SDK makes one attempt per call (see `settings.sdk_config`), so every failure reaches
us; Temporal decides whether to try again from `retryable` and `retry_after`.

- throttling (`ThrottlingException`, `TooManyRequestsException`, other throttle codes,
  HTTP 429) → `CloudRateLimited`, retried after `retry_after`;
- HTTP 5xx, `ServiceUnavailableException`, `InternalFailureException`, and connections
  refused, reset or dropped → `CloudUnavailable`, retried;
- connected, no answer within the read timeout → `CloudTimeout`, retried;
- `DeleteConflictException` (a detach not yet propagated) → `CloudConflict`, retried
  after `retry_after`;
- `ResourceAlreadyExistsException`, `VersionConflictException`,
  `CertificateStateException`, HTTP 409 → `CloudConflict`;
- `ResourceNotFoundException`, HTTP 404 → `CloudNotFound`;
- `UnauthorizedException`, bad or expired credentials, none found → `CloudUnauthorized`;
- `AccessDeniedException`, HTTP 403 → `CloudForbidden`;
- `InvalidRequestException`, `LimitExceededException`, other 4xx, bad parameters, no
  region → `CloudInvalidRequest`;
- anything else → `CloudProtocolError`; none of these last six is retried.

AWS sends no Retry-After on throttling; when an answer has one it is used, else the
configured `throttle_retry_after`. Details carry the operation, AWS's error code, the HTTP
status and request id, and the ids the caller passes: never a credential.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from adapters.cloud_errors import (
    CloudConflict,
    CloudError,
    CloudForbidden,
    CloudInvalidRequest,
    CloudNotFound,
    CloudProtocolError,
    CloudRateLimited,
    CloudTimeout,
    CloudUnauthorized,
    CloudUnavailable,
)
from adapters.errors import clip

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailureException",
        "InternalFailure",
        "InternalException",
        "InternalServerException",
    }
)
CONFLICT_CODES = frozenset(
    {
        "ResourceAlreadyExistsException",
        "VersionConflictException",
        "ConflictException",
        "ConflictingResourceUpdateException",
        "CertificateStateException",
    }
)
UNAUTHORIZED_CODES = frozenset(
    {
        "UnauthorizedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
FORBIDDEN_CODES = frozenset({"AccessDeniedException", "ForbiddenException"})
DELETE_CONFLICT_RETRY_AFTER = 2.0
"""AWS detaches principals asynchronously: a delete right after a detach may conflict."""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, math.ceil((moment - datetime.now(UTC)).total_seconds()))


def _client_error(
    error: ClientError, message_prefix: str, details: dict[str, str], throttle_retry_after: float
) -> CloudError:
    body: Mapping[str, Any] = error.response.get("Error", {})
    metadata: Mapping[str, Any] = error.response.get("ResponseMetadata", {})
    code = str(body.get("Code", "") or "")
    status = int(metadata.get("HTTPStatusCode", 0) or 0)
    headers: Mapping[str, str] = metadata.get("HTTPHeaders", {}) or {}
    details = {**details, "aws_error": clip(code, 100), "http_status": str(status)}
    if metadata.get("RequestId"):
        details["request_id"] = clip(str(metadata["RequestId"]), 100)
    aws_message = clip(str(body.get("Message", "") or ""))
    message = f"{message_prefix}: {code or f'HTTP {status}'}"
    if aws_message:
        message = f"{message}: {aws_message}"
    retry_after = _retry_after(headers)

    if code in THROTTLING_CODES or status == 429:
        wait = retry_after if retry_after is not None else throttle_retry_after
        return CloudRateLimited(message, retry_after=wait, details=details)
    if code in UNAVAILABLE_CODES or status >= 500:
        return CloudUnavailable(message, retry_after=retry_after, details=details)
    if code == "DeleteConflictException":
        return CloudConflict(
            message,
            retryable=True,
            retry_after=retry_after or DELETE_CONFLICT_RETRY_AFTER,
            details=details,
        )
    if code in CONFLICT_CODES or status == 409:
        return CloudConflict(message, details=details)
    if code == "ResourceNotFoundException" or status == 404:
        return CloudNotFound(message, details=details)
    if code in UNAUTHORIZED_CODES or status == 401:
        return CloudUnauthorized(message, details=details)
    if code in FORBIDDEN_CODES or status == 403:
        return CloudForbidden(message, details=details)
    if 400 <= status < 500:
        return CloudInvalidRequest(message, details=details)
    return CloudProtocolError(message, details=details)


def cloud_error(
    error: Exception,
    *,
    operation: str,
    details: Mapping[str, str] | None = None,
    throttle_retry_after: float = 1.0,
) -> CloudError:
    """The typed error for a failed SDK call `operation` (e.g. `CreateThing`).

    Args:
        error: What the SDK raised.
        operation: The AWS operation, for the message and details.
        details: Non-secret ids to keep with the error (thing name, certificate id).
        throttle_retry_after: Seconds to wait after a throttled call that named no wait.
    """
    fields = {"operation": operation, **(details or {})}
    prefix = f"AWS IoT {operation} failed"
    if isinstance(error, ClientError):
        return _client_error(error, prefix, fields, throttle_retry_after)
    kind = type(error).__name__
    fields["sdk_error"] = kind
    if isinstance(error, ReadTimeoutError):
        return CloudTimeout(f"{prefix}: no answer in time", details=fields)
    if isinstance(error, EndpointConnectionError | ConnectionClosedError):
        return CloudUnavailable(f"{prefix}: connection failed ({kind})", details=fields)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return CloudUnauthorized(
            f"{prefix}: no usable AWS credentials in the standard chain", details=fields
        )
    if isinstance(error, NoRegionError):
        return CloudInvalidRequest(f"{prefix}: no AWS region configured", details=fields)
    if isinstance(error, ParamValidationError):
        return CloudInvalidRequest(f"{prefix}: invalid parameters", details=fields)
    if isinstance(error, BotoCoreError | OSError):
        # Other transport failures (aiohttp's, proxies', TLS): the call may not have run.
        return CloudUnavailable(f"{prefix}: {kind}", details=fields)
    return CloudProtocolError(f"{prefix}: {kind}", details=fields)
