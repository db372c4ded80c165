"""The outbound-HTTP policy: requests reach only what a site allows (issue 17, API7).

Real HTTP servers on loopback stand for a device (allowed) and for something else on
the same host (a cloud, a metadata service: not allowed); the assertions read what
each server received, not what the client says.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from adapters.outbound import (
    OutboundPolicy,
    OutboundRefused,
    OutboundRule,
    ResponseTooLarge,
    read_capped,
)
from domain.errors import ErrorCode


class Peer:
    """A loopback HTTP server that records the paths it was asked for."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.port = 0
        self.redirect_to: str | None = None
        self.body = b"{}"
        self.headers: dict[str, str] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.hits.append(request.path_qs)
            if self.redirect_to is not None and request.path == "/redirect":
                raise web.HTTPFound(self.redirect_to)
            return web.Response(body=self.body, headers=self.headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


PeerFactory = Callable[[], Awaitable[Peer]]


@pytest.fixture
async def peers() -> AsyncIterator[PeerFactory]:
    started: list[Peer] = []

    async def start() -> Peer:
        peer = Peer()
        await peer.start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        await peer.stop()


def only(peer: Peer) -> OutboundPolicy:
    return OutboundPolicy.parse(f"http://127.0.0.1:{peer.port}")


async def test_a_device_the_site_allows_is_reached(peers: PeerFactory) -> None:
    device = await peers()
    async with only(device).client() as http:
        response = await http.get(f"http://127.0.0.1:{device.port}/rpc")

    assert response.status_code == 200
    assert device.hits == ["/rpc"]


async def test_another_port_on_the_same_host_is_refused_before_anything_is_sent(
    peers: PeerFactory,
) -> None:
    device, cloud = await peers(), await peers()
    async with only(device).client() as http:
        with pytest.raises(OutboundRefused) as refused:
            await http.post(f"http://127.0.0.1:{cloud.port}/v1/devices?x=")

    assert refused.value.code is ErrorCode.OUTBOUND_NOT_ALLOWED
    assert cloud.hits == []


async def test_a_name_is_checked_on_the_address_it_resolves_to(peers: PeerFactory) -> None:
    device = await peers()
    elsewhere = OutboundPolicy.parse(f"http://10.0.0.0/8:{device.port}")
    async with elsewhere.client() as http:
        with pytest.raises(OutboundRefused, match=r"resolves to 127\.0\.0\.1"):
            await http.get(f"http://localhost:{device.port}/")
    async with only(device).client() as http:
        assert (await http.get(f"http://localhost:{device.port}/named")).status_code == 200

    assert device.hits == ["/named"]


async def test_a_redirect_elsewhere_is_refused(peers: PeerFactory) -> None:
    device, cloud = await peers(), await peers()
    device.redirect_to = f"http://127.0.0.1:{cloud.port}/internal"
    async with only(device).client(follow_redirects=True) as http:
        with pytest.raises(OutboundRefused):
            await http.get(f"http://127.0.0.1:{device.port}/redirect")

    assert device.hits == ["/redirect"]
    assert cloud.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@127.0.0.1:{port}/",
        "ftp://127.0.0.1:{port}/",
        "https://127.0.0.1:{port}/",
        "http:///nohost",
        "http://127.0.0.1:99999/",
    ],
)
async def test_urls_no_rule_could_allow_are_refused(peers: PeerFactory, url: str) -> None:
    device = await peers()
    with pytest.raises(OutboundRefused):
        only(device).check_url(url.format(port=device.port))
    assert device.hits == []


async def test_an_oversized_body_is_refused_without_reading_it_all(peers: PeerFactory) -> None:
    device = await peers()
    device.body = b"x" * 300_000
    async with (
        only(device).client() as http,
        http.stream("GET", f"http://127.0.0.1:{device.port}/") as response,
    ):
        with pytest.raises(ResponseTooLarge):
            await read_capped(response, limit=100_000)
        small = await http.get(f"http://127.0.0.1:{device.port}/")
    assert len(small.content) == 300_000  # the cap applies where it is asked for


async def read_from(device: Peer, limit: int) -> bytes:
    """`read_capped` of the device's answer to a plain GET, streamed."""
    async with (
        only(device).client() as http,
        http.stream("GET", f"http://127.0.0.1:{device.port}/") as response,
    ):
        return await read_capped(response, limit=limit)


async def test_a_compressed_body_is_capped_as_it_inflates_not_at_its_sent_length(
    peers: PeerFactory,
) -> None:
    device = await peers()
    device.body = gzip.compress(b"x" * 300_000)  # about 300 bytes on the wire
    device.headers = {"Content-Encoding": "gzip"}
    assert len(device.body) < 100_000
    with pytest.raises(ResponseTooLarge):
        await read_from(device, limit=100_000)


async def test_a_body_within_the_cap_is_read_whole(peers: PeerFactory) -> None:
    device = await peers()
    device.body = b"y" * 99_999
    assert await read_from(device, limit=100_000) == device.body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:8090-8099", "http://127.0.0.1/32:8090-8099"),
        ("http://10.0.0.0/8:80", "http://10.0.0.0/8:80"),
        ("https://[fd00::]/8:443", "https://fd00::/8:443"),
    ],
)
def test_rules_parse_and_print(text: str, expected: str) -> None:
    assert str(OutboundRule.parse(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:80",
        "http://127.0.0.1",
        "http://nonsense:80",
        "http://1.2.3.4:0",
        "http://1.2.3.4:90-80",
    ],
)
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"'"):
        OutboundRule.parse(text)


def test_an_empty_policy_allows_nothing() -> None:
    with pytest.raises(OutboundRefused):
        OutboundPolicy([]).check_url("http://127.0.0.1:80/")
