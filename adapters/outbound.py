"""Outbound HTTP only where a site allows it: the one policy every adapter's client obeys.

A device's address comes from a request (`transport_hints.address`) or from the device
itself (an Improv redirect URL): whoever may start a run could otherwise make a gateway
send requests anywhere its network reaches (OWASP API7, server-side request forgery).
An `OutboundPolicy` is an allow-list of schemes, address ranges and ports; the client
an adapter gets from `OutboundPolicy.client` checks

- every request's URL before it is sent (scheme, no user info), and every redirect's,
  since each is a request of its own;
- every address the host name resolves to, at connect time, and connects to the very
  address it checked — a name that resolves elsewhere between the check and the
  connection (DNS rebinding) cannot slip through;
- the size of every response body it reads (`read_capped`).

Why not a library: the SSRF guards for httpx found (e.g. drawbridge, egressweave) block
private ranges, which is where devices live; devprov needs the opposite, an allow-list
of a site's device ranges and ports, checked on the resolved address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from adapters.errors import AdapterError
from domain.errors import ErrorCode

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_BODY_LIMIT = 1024 * 1024
"""Bytes of a response body an adapter reads at most, unless it asks for another cap."""


class OutboundRefused(AdapterError):
    """A request to somewhere the site's outbound policy does not allow; not sent."""

    code = ErrorCode.OUTBOUND_NOT_ALLOWED
    retryable = False


class ResponseTooLarge(AdapterError):
    """A peer answered with a body larger than the cap; the rest was not read."""

    code = ErrorCode.DEVICE_PROTOCOL_ERROR
    retryable = False


@dataclass(frozen=True)
class OutboundRule:
    """One allowed destination: a scheme, an address range and a port range."""

    scheme: str
    network: IpNetwork
    ports: range

    def allows(self, scheme: str, address: IpAddress, port: int) -> bool:
        return scheme == self.scheme and address in self.network and port in self.ports

    def __str__(self) -> str:
        ports = (
            str(self.ports.start)
            if len(self.ports) == 1
            else f"{self.ports.start}-{self.ports.stop - 1}"
        )
        return f"{self.scheme}://{self.network}:{ports}"

    @classmethod
    def parse(cls, text: str) -> OutboundRule:
        """`scheme://address-or-range:port-or-ports`, e.g. `http://10.0.0.0/8:80`,
        `http://127.0.0.1:8090-8099`, `https://[fd00::]/8:443`.

        Raises:
            ValueError: Not of that form.
        """
        scheme, separator, rest = text.strip().partition("://")
        if not separator or scheme not in ("http", "https"):
            raise ValueError(f"'{text}': expected http:// or https:// then a range and ports")
        where, colon, ports = rest.rpartition(":")
        if not colon or not where:
            raise ValueError(f"'{text}': expected a port or a port range after the last ':'")
        first, dash, last = ports.partition("-")
        try:
            low, high = int(first), int(last) if dash else int(first)
            network = ipaddress.ip_network(where.strip("[]").replace("]/", "/"), strict=False)
        except ValueError as exc:
            raise ValueError(f"'{text}': {exc}") from None
        if not 0 < low <= high <= 65535:
            raise ValueError(f"'{text}': ports must be 1-65535, low to high")
        return cls(scheme=scheme, network=network, ports=range(low, high + 1))


class OutboundPolicy:
    """The destinations an adapter's HTTP client may reach.

    Args:
        rules: Allowed destinations; none allows nothing.
    """

    def __init__(self, rules: Iterable[OutboundRule], blocked: Iterable[IpNetwork] = ()) -> None:
        self.rules: tuple[OutboundRule, ...] = tuple(rules)
        self.blocked: tuple[IpNetwork, ...] = tuple(blocked)
        """Ranges refused whatever the rules allow (e.g. private ones, for webhooks)."""

    @classmethod
    def parse(cls, text: str) -> OutboundPolicy:
        """Rules separated by commas or white space (see `OutboundRule.parse`)."""
        return cls(OutboundRule.parse(part) for part in text.replace(",", " ").split())

    def __str__(self) -> str:
        return ", ".join(str(rule) for rule in self.rules) or "(nothing)"

    def allows(self, scheme: str, address: IpAddress, port: int) -> bool:
        if any(address in network for network in self.blocked):
            return False
        return any(rule.allows(scheme, address, port) for rule in self.rules)

    def allows_address(self, address: IpAddress, port: int) -> bool:
        """Whether some rule allows `address:port` for any scheme (and none blocks it)."""
        if any(address in network for network in self.blocked):
            return False
        return any(address in rule.network and port in rule.ports for rule in self.rules)

    def check_url(self, url: str) -> None:
        """Refuse a URL no rule could allow, before anything is resolved or sent.

        Raises:
            OutboundRefused: Not http(s), user info in it, no host, or a literal
                address or a port no rule allows.
        """
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise OutboundRefused(f"'{_shown(url)}' is not a URL") from None
        scheme = parts.scheme
        if scheme not in ("http", "https") or not parts.hostname:
            raise OutboundRefused(f"'{_shown(url)}' is not an http(s) URL with a host")
        if parts.username is not None or parts.password is not None:
            raise OutboundRefused("URLs with user info are not followed")
        if not any(rule.scheme == scheme and port in rule.ports for rule in self.rules):
            raise OutboundRefused(f"{scheme} to port {port} is not allowed here", **_why(self))
        literal = _literal_address(parts.hostname)
        if literal is not None and not self.allows(scheme, literal, port):
            raise OutboundRefused(f"{literal}:{port} is not allowed here", **_why(self))

    def client(
        self, *, ssl_context: ssl.SSLContext | None = None, **options: Any
    ) -> httpx.AsyncClient:
        """An httpx client that obeys this policy (`trust_env` off: a proxy for the
        internet must not carry LAN traffic). `ssl_context` verifies TLS peers (default:
        the system's trust store); `options` go to `httpx.AsyncClient`."""
        return httpx.AsyncClient(
            transport=_PolicyTransport(self, ssl_context), trust_env=False, **options
        )


def _shown(url: str) -> str:
    return url if len(url) <= 80 else url[:77] + "..."


def _why(policy: OutboundPolicy) -> dict[str, Any]:
    return {"details": {"allowed": str(policy)}}


def _literal_address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class _PolicyTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, whose connections go through `_CheckingBackend` and whose
    every request's URL is checked first."""

    def __init__(self, policy: OutboundPolicy, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        self._policy = policy
        # httpx takes no network backend; its pool does (httpcore's public API).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            network_backend=_CheckingBackend(policy),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._policy.check_url(str(request.url))
        return await super().handle_async_request(request)


class _CheckingBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, keeps the addresses the policy allows for the port,
    and connects to one of those addresses (never resolving the name again)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        # The scheme was checked on the URL; here, an address allowed for any scheme.
        allowed = [a for a in addresses if self._policy.allows_address(a, port)]
        if not allowed:
            shown = ", ".join(str(a) for a in addresses) or "nothing"
            raise OutboundRefused(
                f"{host} resolves to {shown}: not allowed on port {port} here",
                **_why(self._policy),
            )
        last: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("Unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> Sequence[IpAddress]:
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    found: list[IpAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


async def read_capped(response: httpx.Response, limit: int = DEFAULT_BODY_LIMIT) -> bytes:
    """The body of a streamed `response`, refusing one larger than `limit` bytes
    without reading the rest (declared or not).

    Raises:
        ResponseTooLarge: The body is larger than `limit`.
    """
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await response.aclose()
        raise ResponseTooLarge(f"the answer is {declared} bytes, more than {limit}")
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a compressed bomb counts
        body += chunk
        if len(body) > limit:
            await response.aclose()
            raise ResponseTooLarge(f"the answer is more than {limit} bytes")
    return bytes(body)
