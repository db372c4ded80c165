"""Outbound requests only where the site allows (OWASP API7, SSRF), through the whole
pipeline: API → workflow → a gateway wired from its settings → httpx → loopback servers.

`elsewhere` is a loopback service that is not a device — what the simulated cloud is
under `make run`. A run whose address hint points there must never reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from temporalio.client import Client

from config.policies import load_policy_book
from config.settings import ApiSettings, EdgeSettings, HttpWifiSettings, Settings
from domain.states import TERMINAL_STATES
from simulators.http_wifi import RunningSimulator, SimulatedWifiDevice
from tests.integration.conftest import POLICY_ENV, ApiClient, request_body, serve_api
from worker.capabilities.contract import EdgeContext
from worker.capabilities.http_wifi import http_wifi_capability
from worker.workers import central_worker, edge_worker


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback HTTP service that is no device; it records every request it gets."""
    seen: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path_qs}")
        return web.json_response({"error": "unauthorized"}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def gateway_pipeline(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    simulator: RunningSimulator,
    site: str,
    tmp_path: Path,
    *,
    outbound: str | None,
) -> AsyncIterator[ApiClient]:
    """The API, a central worker and a gateway whose `http-wifi` capability is opened
    from its settings, as `python -m worker.edge` opens it."""
    settings = Settings(
        api=ApiSettings.defaults(sse_poll_interval_seconds=0.1),
        edge=EdgeSettings.defaults()
        if outbound is None
        else EdgeSettings.defaults(outbound=outbound),
        http_wifi=HttpWifiSettings.defaults(
            address_template=f"{simulator.base_url}/devices/{{device_id}}", timeout_seconds=2.0
        ),
    )
    context = EdgeContext(settings=settings, site=site, host="gw1", data_dir=tmp_path)
    task_queue = f"central-{uuid.uuid4().hex[:8]}"
    async with (
        http_wifi_capability(context) as activities,
        central_worker(temporal_client, task_queue=task_queue),
        edge_worker(temporal_client, site=site, activities=activities),
    ):
        yield await serve_api(
            temporal_client,
            aiohttp_client,
            task_queue=task_queue,
            policies=load_policy_book(environ=POLICY_ENV),
            settings=settings,
        )


async def wait_for_terminal_state(api: ApiClient, path: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            status: dict[str, Any] = await (await api.get(path)).json()
            if status.get("state") in {state.value for state in TERMINAL_STATES}:
                return status
            await asyncio.sleep(0.2)


def hinted(site: str, address: str) -> dict[str, Any]:
    body = request_body(site)
    device: dict[str, Any] = body["device"]  # type: ignore[assignment]
    device["transport_hints"] = {"address": address}
    return body


@pytest.mark.parametrize(
    "address",
    [
        "http://admin:secret@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}/v1/devices?x=",
        "http://127.0.0.1:{port}/#fragment",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
        "http:///no-host",
    ],
)
async def test_an_address_hint_with_user_info_query_fragment_or_odd_scheme_is_a_422(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
    tmp_path: Path,
    elsewhere: tuple[str, list[str]],
    address: str,
) -> None:
    url, seen = elsewhere
    port = url.rsplit(":", 1)[1]
    async with gateway_pipeline(
        temporal_client,
        aiohttp_client,
        simulator,
        site,
        tmp_path,
        outbound="http://127.0.0.0/8:1-65535",
    ) as api:
        path = f"/api/v1/devices/{device.device_id}/provision"
        response = await api.post(path, json=hinted(site, address.format(port=port)))

        problem = await response.json()
        assert response.status == 422, problem
        assert problem["code"] == "INVALID_REQUEST"
        assert "secret" not in str(problem)
        assert (await api.get(path)).status == 404  # no run was started
    assert seen == []


async def test_a_run_pointed_at_a_service_outside_the_sites_allow_list_never_reaches_it(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
    tmp_path: Path,
    elsewhere: tuple[str, list[str]],
) -> None:
    url, seen = elsewhere
    only_the_devices = f"http://127.0.0.1:{simulator.base_url.rsplit(':', 1)[1]}"
    async with gateway_pipeline(
        temporal_client, aiohttp_client, simulator, site, tmp_path, outbound=only_the_devices
    ) as api:
        path = f"/api/v1/devices/{device.device_id}/provision"
        started = await api.post(path, json=hinted(site, f"{url}/v1/devices"))
        assert started.status == 202

        final = await wait_for_terminal_state(api, path)

    assert final["error_code"] == "OUTBOUND_NOT_ALLOWED", final
    assert final["state"] in {"FAILED", "ROLLED_BACK", "FAILED_VALIDATION"}
    assert seen == []  # the service never heard of the run
    assert device.counters.set_config_calls == 0


async def test_by_default_a_gateway_sends_nothing_to_a_public_address(
    temporal_client: Client,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
    tmp_path: Path,
) -> None:
    async with gateway_pipeline(
        temporal_client,
        aiohttp_client,
        simulator,
        site,
        tmp_path,
        outbound=None,  # the default
    ) as api:
        path = f"/api/v1/devices/{device.device_id}/provision"
        # TEST-NET-3 and the cloud metadata address: refused before any connection.
        for address in ("http://203.0.113.7/", "http://169.254.169.254/latest/"):
            started = await api.post(path, json=hinted(site, address))
            assert started.status == 202
            final = await wait_for_terminal_state(api, path)
            assert final["error_code"] == "OUTBOUND_NOT_ALLOWED", (address, final)
