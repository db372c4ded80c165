"""Every body an adapter reads from a peer is capped, and a device's page cannot send a
gateway to another origin: real aiohttp servers on loopback, real httpx clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from adapters.errors import AdapterError
from adapters.http_wifi.rpc_client import ShellyRpcClient
from adapters.improv.web import DeviceWebPage
from adapters.wifi_cloud.client import CloudHttpClient

HUGE = 8 * 1024 * 1024


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def url_of(runner: web.AppRunner) -> str:
    return f"http://127.0.0.1:{int(runner.addresses[0][1])}"


@pytest.fixture
async def flood() -> AsyncIterator[tuple[str, list[int]]]:
    """A peer that answers every request with 8 MB streamed in 64 KB chunks, without a
    Content-Length; it records how many bytes it managed to send."""
    sent: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        total = 0
        try:
            while total < HUGE:
                await response.write(b" " * 65536)
                total += 65536
        except (ConnectionError, RuntimeError):
            pass
        finally:
            sent.append(total)
        return response

    runner = await serve(handler)
    yield url_of(runner), sent
    await runner.cleanup()


async def test_a_device_answering_megabytes_is_a_protocol_error_read_only_up_to_the_cap(
    flood: tuple[str, list[int]],
) -> None:
    url, _ = flood
    async with httpx.AsyncClient(trust_env=False) as http:
        client = ShellyRpcClient(http, timeout=10)
        with pytest.raises(AdapterError, match="more than") as refused:
            await client.call(url, "Shelly.GetDeviceInfo", device_id="flood-1")

    assert refused.value.code == "DEVICE_PROTOCOL_ERROR"


async def test_a_cloud_answering_megabytes_is_a_protocol_error(
    flood: tuple[str, list[int]],
) -> None:
    url, _ = flood
    async with httpx.AsyncClient(trust_env=False) as http:
        cloud = CloudHttpClient(http, url, SecretStr("k" * 24), timeout=10)
        with pytest.raises(AdapterError, match="more than") as refused:
            await cloud.call("GET", "/v1/devices/d1", details={"endpoint": "get device"})

    assert refused.value.code == "CLOUD_PROTOCOL_ERROR"


async def test_a_device_page_cannot_send_the_reset_to_another_origin() -> None:
    hits: list[str] = []

    async def other_origin(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({})

    elsewhere = await serve(other_origin)

    async def page(request: web.Request) -> web.Response:
        return web.json_response({"ssid": "lab", "reset_url": f"{url_of(elsewhere)}/reset"})

    device = await serve(page)
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            with pytest.raises(AdapterError, match="another origin") as refused:
                await DeviceWebPage(http).factory_reset(url_of(device), device_id="bulb-1")
    finally:
        await device.cleanup()
        await elsewhere.cleanup()

    assert refused.value.code == "OUTBOUND_NOT_ALLOWED"
    assert hits == []
