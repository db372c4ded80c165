"""Clients that open event streams and walk away without reading them (issue 9).

A fuzzer opens SSE and WebSocket streams for runs that exist and for runs that do not,
with good and bad `Last-Event-ID`s, then drops them: the API keeps answering, every
stream slot and subscription comes back, and a new client still follows the run.

Served by `start_api`, as in production: pytest-aiohttp's test server cancels a handler
when its client disconnects, which would hide how the API itself notices (the SSE
keep-alive ping fails; the WebSocket heartbeat or reader ends).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession

from api import ApiServer, start_api
from api.app import ApiDependencies
from api.auth import AuthConfig, KeyLimits, KeyStore, Scope, new_key
from tests.api.conftest import provision_body, run_path
from tests.fakes import FakeWifiDevice
from tests.sse import parse_block

MAX_STREAMS = 4
KEY, KEY_STORED = new_key("default", [Scope.ADMIN], key_id="streamer")


@pytest.fixture
async def served(api_deps: ApiDependencies) -> AsyncIterator[ApiServer]:
    """The API served as in production, with a key, a small stream cap, a short ping."""
    auth = AuthConfig(KeyStore([KEY_STORED]), limits=KeyLimits(max_streams=MAX_STREAMS))
    deps = dataclasses.replace(api_deps, auth=auth, stream_ping_seconds=0.5)
    server = await start_api(deps, "127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def http(served: ApiServer) -> AsyncIterator[ClientSession]:
    """A well-behaved client of `served`, with the key."""
    async with ClientSession(served.url, headers={"Authorization": f"Bearer {KEY}"}) as session:
        yield session


def _request(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: devprov", f"Authorization: Bearer {KEY}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _upgrade() -> tuple[str, ...]:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Key: {key}",
    )


def _hostile_requests(device_id: str, round_: int) -> list[bytes]:
    return [
        _request(run_path(device_id, "events")),
        _request(run_path(device_id, "events"), "Last-Event-ID: 2"),
        _request(run_path(device_id, "events") + "?last_event_id=999999"),
        _request(run_path(device_id, "events"), "Last-Event-ID: {}"),
        _request(run_path(device_id, "ws"), *_upgrade()),
        _request(run_path(device_id, "ws")),
        _request(run_path(f"nobody-{round_}", "events")),
        _request(run_path(f"nobody-{round_}", "ws"), *_upgrade()),
    ]


async def _abandon(
    server: ApiServer, requests: list[bytes], how: str
) -> list[asyncio.StreamWriter]:
    """Send each request on its own connection and never read the answer."""
    writers = []
    for request in requests:
        _, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(request)
        await writer.drain()
        writers.append(writer)
    await asyncio.sleep(0.3)  # the API has started answering
    if how == "keep":
        return writers  # left open, unread
    for writer in writers:
        if how == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()
    return []


async def _subscribers(http: ClientSession) -> float:
    async with http.get("/metrics") as response:
        text = await response.text()
    [line] = [
        line for line in text.splitlines() if line.startswith("devprov_api_stream_subscribers ")
    ]
    return float(line.split()[1])


async def _wait_for_state(http: ClientSession, device_id: str, state: str) -> None:
    async with asyncio.timeout(20):
        while True:
            async with http.get(run_path(device_id)) as response:
                if response.status == 200 and (await response.json())["state"] == state:
                    return
            await asyncio.sleep(0.1)


async def _follow_until(http: ClientSession, device_id: str, state: str) -> int:
    """Open MAX_STREAMS streams of the run at once; each must reach `state`."""
    responses = [await http.get(run_path(device_id, "events")) for _ in range(MAX_STREAMS)]
    try:
        assert [r.status for r in responses] == [200] * MAX_STREAMS
        for response in responses:
            block: list[str] = []
            while True:
                line = (await response.content.readline()).decode().rstrip("\r\n")
                if line:
                    block.append(line)
                    continue
                event, block = parse_block(block), []
                if event is not None and event.data["state"] == state:
                    break
        return len(responses)
    finally:
        for response in responses:
            response.close()


async def test_abandoned_streams_leave_the_api_serving_and_give_their_slots_back(
    served: ApiServer, http: ClientSession, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await http.post(run_path(device_id), json=provision_body(site, network=False))
    await _wait_for_state(http, device_id, "PENDING_NETWORK")
    rounds = [
        (how, _hostile_requests(device_id, n) * 2) for n, how in enumerate(["reset", "close"] * 2)
    ]
    # Upgraded, then neither read nor answered: the WebSocket heartbeat must drop them.
    rounds.append(("keep", [_request(run_path(device_id, "ws"), *_upgrade())] * MAX_STREAMS))
    kept: list[asyncio.StreamWriter] = []

    try:
        for how, requests in rounds:
            kept += await _abandon(served, requests, how)
            async with asyncio.timeout(2), http.get("/healthz") as health:
                assert health.status == 200

        async with asyncio.timeout(15):
            while await _subscribers(http) > 0:  # noticed at the next ping (0.5 s here)
                await asyncio.sleep(0.2)
            assert await _follow_until(http, device_id, "PENDING_NETWORK") == MAX_STREAMS
    finally:
        for writer in kept:
            writer.close()
    async with http.get("/healthz") as health:
        assert health.status == 200


async def test_a_client_gone_before_its_stream_starts_is_no_error(
    served: ApiServer,
    http: ClientSession,
    workers: FakeWifiDevice,
    device_id: str,
    site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dropped while the API still looks the run up: nothing to answer, nothing to log
    as an error (aiohttp-sse asserts on the missing transport)."""
    await http.post(run_path(device_id), json=provision_body(site, network=False))
    await _wait_for_state(http, device_id, "PENDING_NETWORK")

    for _ in range(10):
        _, writer = await asyncio.open_connection(served.host, served.port)
        writer.write(_request(run_path(device_id, "events")))
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    await asyncio.sleep(0.5)

    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert errors == [], [r.getMessage() for r in errors]
    async with asyncio.timeout(2), http.get("/healthz") as health:
        assert health.status == 200
