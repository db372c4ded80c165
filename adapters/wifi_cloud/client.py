"""One call to the vendor cloud's HTTP API, with every failure typed (see `errors`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from pydantic import SecretStr

from adapters.cloud_errors import (
    CloudClaimRejected,
    CloudConflict,
    CloudError,
    CloudForbidden,
    CloudIdempotencyMismatch,
    CloudInvalidRequest,
    CloudNotFound,
    CloudProtocolError,
    CloudRateLimited,
    CloudTimeout,
    CloudUnauthorized,
    CloudUnavailable,
)
from adapters.errors import clip
from adapters.outbound import ResponseTooLarge, read_capped
from adapters.redaction import public_url, redact
from adapters.wifi_cloud.messages import ErrorMessage

logger = logging.getLogger("devprov.adapters.wifi_cloud")

DEFAULT_TIMEOUT_SECONDS = 10.0
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_MAX_MESSAGE = 300
MAX_ANSWER_BYTES = 1024 * 1024
"""The cloud's answers are small JSON documents; a larger body is not read."""
_BODY_FRAMING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date.

    Returns None when the header is absent or unreadable; never a negative number.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def check_idempotency_key(key: str) -> str:
    """Keys are 1 to 255 visible ASCII characters; raises ValueError otherwise."""
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise ValueError("an idempotency key is 1 to 255 visible ASCII characters")
    return key


class CloudHttpClient:
    """Sends authenticated requests to the cloud and turns failures into `CloudError`s.

    Args:
        http: Shared HTTP client; its owner opens and closes it.
        base_url: The cloud's API root (the `/v1` paths are appended).
        api_key: Our API key, sent as `Authorization: Bearer`.
        timeout: Seconds allowed for each call (connect, send and answer).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self.public_url = public_url(self._base_url)

    @property
    def timeout(self) -> float:
        return self._timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        details: Mapping[str, str],
        body: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        secrets: Sequence[str] = (),
    ) -> httpx.Response:
        """Send one request and return the 2xx answer.

        Args:
            method: HTTP method.
            path: Path under the base URL, already escaped, e.g. `/v1/devices/d1`.
            details: Non-secret facts for errors and logs; `endpoint` names the call.
            body: JSON body.
            params: Query parameters.
            idempotency_key: Sent as `Idempotency-Key` when given.
            secrets: Values in `body` that must never appear in errors or logs.

        Raises:
            CloudError: A subclass saying what went wrong.
        """
        headers = {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}
        facts = {**details, "cloud": self.public_url}
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = check_idempotency_key(idempotency_key)
            facts["idempotency_key"] = idempotency_key
        endpoint = facts.get("endpoint", path)
        try:
            async with self._http.stream(
                method,
                f"{self._base_url}{path}",
                json=body,
                params=params,
                headers=headers,
                timeout=self._timeout,
            ) as streamed:
                try:
                    content = await read_capped(streamed, MAX_ANSWER_BYTES)
                except ResponseTooLarge as exc:
                    if streamed.status_code < 400:
                        raise CloudProtocolError(f"{endpoint}: {exc}", details=facts) from None
                    content = b""  # an error's status says enough; its flood is not read
            # The same answer, already read (and decoded): its encoding headers go.
            response = httpx.Response(
                streamed.status_code,
                headers=[
                    (name, value)
                    for name, value in streamed.headers.multi_items()
                    if name.lower() not in _BODY_FRAMING_HEADERS
                ],
                content=content,
                request=streamed.request,
            )
        except httpx.ConnectTimeout as exc:
            raise CloudUnavailable(
                f"{endpoint}: no connection to the cloud within {self._timeout:g} s",
                details=facts,
            ) from exc
        except httpx.TimeoutException as exc:
            raise CloudTimeout(
                f"{endpoint}: no answer from the cloud within {self._timeout:g} s",
                details=facts,
            ) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise CloudUnavailable(
                f"{endpoint}: connection to the cloud failed or dropped ({type(exc).__name__})",
                details=facts,
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CloudProtocolError(f"{endpoint}: {exc}", details=facts) from exc
        facts["http_status"] = str(response.status_code)
        if response.headers.get(REPLAYED_HEADER) == "true":
            logger.info("%s: the cloud replayed its first answer to this key", endpoint)
        if 200 <= response.status_code < 300:
            logger.debug("%s: HTTP %s", endpoint, response.status_code)
            return response
        raise self._error_of(response, endpoint, facts, secrets)

    @staticmethod
    def _error_of(
        response: httpx.Response,
        endpoint: str,
        facts: dict[str, str],
        secrets: Sequence[str],
    ) -> CloudError:
        status = response.status_code
        try:
            error = ErrorMessage.model_validate(response.json())
        except ValueError:
            error = ErrorMessage()
        message = clip(redact(error.message, secrets), _MAX_MESSAGE)
        if error.error:
            facts = {**facts, "cloud_error": clip(redact(error.error, secrets), 64)}
        text = f"{endpoint}: HTTP {status}" + (f" {facts['cloud_error']}" if error.error else "")
        if message:
            text += f": {message}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            if retry_after is None:
                retry_after = error.retry_after
            return CloudRateLimited(text, retry_after=retry_after, details=facts)
        if status >= 500:
            return CloudUnavailable(text, retry_after=retry_after, details=facts)
        if status == 401:
            return CloudUnauthorized(text, details=facts)
        if status == 403:
            if error.error == "invalid_claim":
                return CloudClaimRejected(text, details=facts)
            return CloudForbidden(text, details=facts)
        if status == 404:
            return CloudNotFound(text, details=facts)
        if status == 409:
            return CloudConflict(text, details=facts)
        if status == 422 and error.error == "idempotency_key_reused":
            return CloudIdempotencyMismatch(text, details=facts)
        if 400 <= status < 500:
            return CloudInvalidRequest(text, details=facts)
        return CloudProtocolError(text, details=facts)
