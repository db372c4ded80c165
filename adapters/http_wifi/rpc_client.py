"""Calling one Shelly Gen2 RPC method over HTTP, with every failure typed.

| what happens                                         | error                       |
|------------------------------------------------------|-----------------------------|
| connection refused, reset or dropped before answering | `DeviceUnreachable`         |
| no TCP connection within the timeout                 | `DeviceUnreachable`         |
| HTTP 404 (no device at that address)                 | `DeviceUnreachable`         |
| connected, but no answer within the timeout          | `DeviceTimeout`             |
| RPC error -114 (resource unavailable)                | `DeviceBusy` (+retry_after) |
| HTTP 401 / RPC error 401 (authentication enabled)    | `DeviceRejectedRequest`     |
| RPC error -103 (invalid argument), other codes       | `DeviceRejectedRequest`     |
| RPC error -105 (no such method)                      | `DeviceProtocolError`       |
| HTTP 5xx                                             | `DeviceProtocolError`, retryable |
| a body that is not an RPC frame                      | `DeviceProtocolError`       |
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping, Sequence
from typing import NoReturn

import httpx

from adapters.errors import (
    AdapterError,
    DeviceBusy,
    DeviceProtocolError,
    DeviceRejectedRequest,
    DeviceTimeout,
    DeviceUnreachable,
    clip,
)
from adapters.outbound import ResponseTooLarge, read_capped
from adapters.redaction import public_url, redact

logger = logging.getLogger("devprov.adapters.http_wifi")

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 256 * 1024
"""An RPC answer is a small JSON frame; a larger body is not read (DEVICE_PROTOCOL_ERROR)."""

INVALID_ARGUMENT = -103
DEADLINE_EXCEEDED = -104
NOT_FOUND = -105
RESOURCE_UNAVAILABLE = -114
UNAUTHORIZED = 401


def _retry_after(error: Mapping[str, object], response: httpx.Response) -> float | None:
    hint = error.get("retry_after")
    if isinstance(hint, int | float) and not isinstance(hint, bool) and hint >= 0:
        return float(hint)
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            return max(0.0, float(header))
        except ValueError:
            return None
    return None


class ShellyRpcClient:
    """Sends RPC frames to devices and returns their results.

    Args:
        http: Shared HTTP client; its owner opens and closes it.
        timeout: Seconds allowed for each call (connect, send and answer).
        source: The `src` our frames carry, as Shelly clients identify themselves.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        source: str = "devprov",
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._http = http
        self._timeout = timeout
        self._source = source
        self._ids = itertools.count(1)

    @property
    def timeout(self) -> float:
        return self._timeout

    async def call(
        self,
        address: str,
        method: str,
        params: Mapping[str, object] | None = None,
        *,
        device_id: str,
        secrets: Sequence[str] = (),
    ) -> object:
        """Call `method` on the device whose API is at `address` and return its result.

        Args:
            address: Base URL of the device's local API; frames go to `<address>/rpc`.
            method: RPC method, e.g. `WiFi.GetStatus`.
            params: Method parameters.
            device_id: The device, named in errors.
            secrets: Values in `params` that must never appear in errors or logs.

        Raises:
            AdapterError: A subclass saying what went wrong (see the module docstring).
        """
        request_id = next(self._ids)
        frame: dict[str, object] = {"id": request_id, "src": self._source, "method": method}
        if params is not None:
            frame["params"] = dict(params)
        details = {"device_id": device_id, "method": method, "address": public_url(address)}
        logger.debug("calling %s on %s at %s", method, device_id, details["address"])
        response, body = await self._post(f"{address.rstrip('/')}/rpc", frame, details)
        return self._result_of(response, body, request_id, details, secrets)

    async def _post(
        self, url: str, frame: dict[str, object], details: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        """The device's answer and its body, read up to `MAX_ANSWER_BYTES`."""
        subject = f"device '{details['device_id']}' ({details['method']})"
        try:
            async with self._http.stream(
                "POST", url, json=frame, timeout=self._timeout
            ) as response:
                try:
                    return response, await read_capped(response, MAX_ANSWER_BYTES)
                except ResponseTooLarge as exc:
                    if response.status_code < 400:
                        raise DeviceProtocolError(f"{subject}: {exc}", details=details) from None
                    return response, b""  # an error's status says enough; its flood is not read
        except httpx.ConnectTimeout as exc:
            raise DeviceUnreachable(
                f"{subject}: no connection within {self._timeout:g} s", details=details
            ) from exc
        except httpx.TimeoutException as exc:
            raise DeviceTimeout(
                f"{subject}: no answer within {self._timeout:g} s", details=details
            ) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # Refused, reset, or closed before an answer: the device is out of reach now,
            # and may or may not have acted on the request.
            raise DeviceUnreachable(
                f"{subject}: connection failed or dropped without an answer ({exc})",
                details=details,
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise DeviceProtocolError(f"{subject}: {exc}", details=details) from exc

    def _result_of(
        self,
        response: httpx.Response,
        raw: bytes,
        request_id: int,
        details: dict[str, str],
        secrets: Sequence[str],
    ) -> object:
        subject = f"device '{details['device_id']}' ({details['method']})"
        status = response.status_code
        details = {**details, "http_status": str(status)}
        if status == 404:
            raise DeviceUnreachable(
                f"{subject}: no device answers at {details['address']} (HTTP 404)",
                details=details,
            )
        if status == 401:
            raise DeviceRejectedRequest(
                f"{subject}: the device requires authentication",
                details={**details, "reason": "auth_required"},
            )
        if status >= 500:
            raise DeviceProtocolError(
                f"{subject}: the device failed with HTTP {status}",
                retryable=True,
                details=details,
            )
        try:
            body = json.loads(raw)
        except ValueError:
            raise DeviceProtocolError(
                f"{subject}: the answer is not JSON (HTTP {status})", details=details
            ) from None
        if not isinstance(body, dict):
            raise DeviceProtocolError(f"{subject}: the answer is not an RPC frame", details=details)
        if body.get("id") != request_id:
            raise DeviceProtocolError(
                f"{subject}: the answer is for request {clip(repr(body.get('id')), 64)}, "
                f"not {request_id}",
                details=details,
            )
        error = body.get("error")
        if error is not None:
            self._raise_rpc_error(subject, error, response, details, secrets)
        if status != 200 or "result" not in body:
            raise DeviceProtocolError(
                f"{subject}: HTTP {status} answer without a result", details=details
            )
        return body["result"]

    @staticmethod
    def _raise_rpc_error(
        subject: str,
        error: object,
        response: httpx.Response,
        details: dict[str, str],
        secrets: Sequence[str],
    ) -> NoReturn:
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            raise DeviceProtocolError(f"{subject}: malformed error object", details=details)
        code: int = error["code"]
        message = clip(redact(str(error.get("message", "")), secrets), 300)
        details = {**details, "rpc_code": str(code), "device_message": message}
        text = f"{subject}: device error {code}: {message}"
        failure: AdapterError
        if code == RESOURCE_UNAVAILABLE:
            failure = DeviceBusy(text, retry_after=_retry_after(error, response), details=details)
        elif code == UNAUTHORIZED:
            failure = DeviceRejectedRequest(
                f"{subject}: the device requires authentication",
                details={**details, "reason": "auth_required"},
            )
        elif code == NOT_FOUND:
            failure = DeviceProtocolError(text, details=details)
        elif code == DEADLINE_EXCEEDED:
            failure = DeviceTimeout(text, details=details)
        else:
            failure = DeviceRejectedRequest(text, details=details)
        raise failure
