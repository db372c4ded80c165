"""The second channel: a provisioned device's own web page, at the redirect URL it gave.

After an Improv device joins its network it may hand out a redirect URL (its web UI).
That it answers there, over the LAN, proves the join better than its BLE state: it got
an address and serves on it. Some devices offer a factory reset there too; the page's
JSON names it as `reset_url`.
"""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

import httpx

from adapters.errors import DeviceUnreachable, NetworkJoinPending
from adapters.outbound import OutboundRefused, read_capped
from domain.facts import NetworkJoin

logger = logging.getLogger("devprov.adapters.improv")

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_PAGE_BYTES = 64 * 1024
"""A device's status page and reset answer are small; a larger body is not read."""


class WebReset(StrEnum):
    """What asking a device's web page for a factory reset came to."""

    DONE = "reset through its web page"
    NOT_OFFERED = "its web page offers no reset"
    NO_ANSWER = "its web page does not answer"


def _public(url: str) -> str:
    """`url` without user info, query or fragment, fit for messages."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


class DeviceWebPage:
    """Reads and resets devices through their web pages.

    Args:
        http: Shared client; its owner opens and closes it (use `trust_env=False`:
            a proxy for the internet must not capture LAN traffic).
        timeout: Seconds allowed for each request.
    """

    def __init__(
        self, http: httpx.AsyncClient, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self._http = http
        self._timeout = timeout

    async def _get(self, url: str, details: dict[str, str]) -> tuple[int, dict[str, object]]:
        """The page's HTTP status and JSON object (empty when it is not one), its body
        read up to `MAX_PAGE_BYTES`."""
        try:
            async with self._http.stream("GET", url, timeout=self._timeout) as response:
                body = await read_capped(response, MAX_PAGE_BYTES)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise NetworkJoinPending(
                f"nothing answers at {_public(url)} yet ({type(exc).__name__})",
                details=details,
            ) from exc
        return response.status_code, self._json(body)

    async def check(self, url: str, *, device_id: str, ssid: str) -> NetworkJoin:
        """Proof that the device answers at `url` on network `ssid`.

        Raises:
            NetworkJoinPending: No answer (yet), or an error status, or the page says
                the device is on another network.
        """
        details = {"device_id": device_id, "url": _public(url), "ssid": ssid}
        status, page = await self._get(url, details)
        if status >= 400:
            raise NetworkJoinPending(
                f"device '{device_id}' answers HTTP {status} at {_public(url)}",
                details={**details, "http_status": str(status)},
            )
        page_ssid = page.get("ssid")
        if isinstance(page_ssid, str) and page_ssid != ssid:
            raise NetworkJoinPending(
                f"device '{device_id}' is on network '{page_ssid}', not '{ssid}'",
                details={**details, "current_ssid": page_ssid},
            )
        ip = page.get("ip")
        address = ip if isinstance(ip, str) and ip else (urlsplit(url).hostname or url)
        return NetworkJoin(ssid=ssid, address=address)

    async def factory_reset(self, url: str, *, device_id: str) -> WebReset:
        """Reset the device through its page, if the page offers it.

        A page that does not answer, or answers an HTTP error, is not an error here
        (`NO_ANSWER`): the device may not be on its network, or not reachable from here;
        the caller asks the device.

        Raises:
            DeviceUnreachable: The reset request itself failed (retried).
        """
        details = {"device_id": device_id, "url": _public(url)}
        try:
            status, page = await self._get(url, details)
        except NetworkJoinPending:
            logger.info("device %s: its web page does not answer", device_id)
            return WebReset.NO_ANSWER
        if status >= 400:  # something answers there, not the device's page
            logger.info("device %s: its web page answers HTTP %d", device_id, status)
            return WebReset.NO_ANSWER
        reset = page.get("reset_url")
        if not isinstance(reset, str) or not reset:
            logger.info("device %s: its web page offers no reset", device_id)
            return WebReset.NOT_OFFERED
        reset_url = urljoin(url, reset)
        if _origin(reset_url) != _origin(url):
            raise OutboundRefused(
                f"device '{device_id}': its page points the reset to another origin "
                f"({_public(reset_url)}); only the page's own origin is followed",
                details=details,
            )
        try:
            async with self._http.stream("POST", reset_url, timeout=self._timeout) as answer:
                await read_capped(answer, MAX_PAGE_BYTES)
        except httpx.HTTPError as exc:
            raise DeviceUnreachable(
                f"device '{device_id}': the reset at {_public(reset_url)} failed ({exc})",
                details=details,
            ) from exc
        if answer.status_code >= 400:
            raise DeviceUnreachable(
                f"device '{device_id}' refused the reset (HTTP {answer.status_code})",
                details={**details, "http_status": str(answer.status_code)},
            )
        logger.info("device %s: factory reset through its web page", device_id)
        return WebReset.DONE

    @staticmethod
    def _json(body: bytes) -> dict[str, object]:
        try:
            page = json.loads(body)
        except ValueError:
            return {}
        return page if isinstance(page, dict) else {}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port
