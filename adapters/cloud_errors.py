"""Typed errors of the cloud adapters (`wifi-cloud`, `wifi-aws-iot`): one per way a
cloud call can fail.

| what happens                                  | error                      | retried     |
|-----------------------------------------------|----------------------------|-------------|
| HTTP 429                                      | `CloudRateLimited`         | after `retry_after` |
| HTTP 5xx, connection refused/reset/dropped    | `CloudUnavailable`         | yes         |
| no answer within the timeout                  | `CloudTimeout`             | yes         |
| HTTP 401 (API key missing or wrong)           | `CloudUnauthorized`        | no          |
| HTTP 403 `invalid_claim`                      | `CloudClaimRejected`       | no          |
| HTTP 403, other (ownership token, revoked)    | `CloudForbidden`           | no          |
| HTTP 404                                      | `CloudNotFound`            | no          |
| HTTP 409 (already registered)                 | `CloudConflict`            | no          |
| HTTP 422 `idempotency_key_reused`             | `CloudIdempotencyMismatch` | no          |
| HTTP 400 / 422, other 4xx (invalid CSR, body) | `CloudInvalidRequest`      | no          |
| an answer we cannot read                      | `CloudProtocolError`       | no          |

Retry-After (seconds or an HTTP date) becomes `retry_after` on 429 and 5xx answers.
"""

from __future__ import annotations

from adapters.errors import AdapterError
from domain.errors import ErrorCode


class CloudError(AdapterError):
    """Root of the cloud adapters' errors; `details` never hold a secret."""

    code = ErrorCode.CLOUD_PROTOCOL_ERROR
    retryable = False


class CloudRateLimited(CloudError):
    """The cloud's request quota is used up; `retry_after` says when to come back."""

    code = ErrorCode.CLOUD_RATE_LIMITED
    retryable = True


class CloudUnavailable(CloudError):
    """The cloud failed (5xx) or could not be reached; the call may or may not have run."""

    code = ErrorCode.CLOUD_UNAVAILABLE
    retryable = True


class CloudTimeout(CloudError):
    """No answer in time; the call may still have taken effect (retry with the same key)."""

    code = ErrorCode.CLOUD_TIMEOUT
    retryable = True


class CloudUnauthorized(CloudError):
    """The cloud refused our API key."""

    code = ErrorCode.CLOUD_UNAUTHORIZED


class CloudClaimRejected(CloudError):
    """The claim token is not valid for this cloud."""

    code = ErrorCode.CLOUD_CLAIM_REJECTED


class CloudForbidden(CloudError):
    """The cloud refused the call: a bad ownership token, a revoked credential, ..."""

    code = ErrorCode.CLOUD_FORBIDDEN


class CloudNotFound(CloudError):
    """The device, credential or policy does not exist in the cloud."""

    code = ErrorCode.CLOUD_NOT_FOUND


class CloudConflict(CloudError):
    """The cloud already holds something in the way, e.g. the device is registered."""

    code = ErrorCode.CLOUD_CONFLICT


class CloudInvalidRequest(CloudError):
    """The cloud rejected what we sent (invalid CSR, invalid attributes, ...)."""

    code = ErrorCode.CLOUD_INVALID_REQUEST


class CloudIdempotencyMismatch(CloudError):
    """The idempotency key was first used for a different request: a bug in key derivation."""

    code = ErrorCode.CLOUD_IDEMPOTENCY_MISMATCH


class CloudProtocolError(CloudError):
    """The cloud answered something we cannot understand."""

    code = ErrorCode.CLOUD_PROTOCOL_ERROR
