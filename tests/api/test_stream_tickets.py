"""Streams take a short-lived, run-scoped ticket in their URL, never the API key."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyStore, Scope, new_key
from tests.api.conftest import ApiClient, bearer, provision_body, run_path
from tests.fakes import FakeWifiDevice

READER, READER_STORED = new_key("tenant-a", [Scope.READ, Scope.PROVISION], key_id="readera")
OTHER, OTHER_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")


@pytest.fixture
async def secured(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> ApiClient:
    auth = AuthConfig(KeyStore([READER_STORED, OTHER_STORED]))
    return await aiohttp_client(create_app(dataclasses.replace(api_deps, auth=auth)))


async def started_run(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    response = await secured.post(
        run_path(device_id), json=provision_body(site), headers=bearer(READER)
    )
    assert response.status == 202


async def test_the_api_key_in_a_stream_url_is_refused(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await started_run(secured, workers, device_id, site)

    response = await secured.get(run_path(device_id, "events"), params={"access_token": READER})

    assert response.status == 401
    workers.block_confirm = False


async def test_a_ticket_opens_its_runs_streams_and_nothing_else(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await started_run(secured, workers, device_id, site)
    issued = await secured.post(run_path(device_id, "stream-ticket"), headers=bearer(READER))
    assert issued.status == 201
    access = await issued.json()
    assert READER.split("_", 2)[2] not in str(access)  # the key's secret is not in it

    stream = await secured.get(access["events"])
    assert stream.status == 200
    assert stream.content_type == "text/event-stream"
    first = await stream.content.readline()
    assert first  # an event arrives
    stream.close()

    ticket = {"ticket": access["ticket"]}
    other_device = await secured.get(run_path(f"{device_id}-other", "events"), params=ticket)
    assert other_device.status == 401
    status = await secured.get(run_path(device_id), params=ticket)
    assert status.status == 401  # not a key: it opens streams only
    acting = await secured.post(run_path(device_id, "cancel"), params=ticket)
    assert acting.status == 401
    forged = await secured.get(
        run_path(device_id, "events"), params={"ticket": access["ticket"][:-2] + "AA"}
    )
    assert forged.status == 401
    workers.block_confirm = False


async def test_another_tenant_gets_no_ticket_for_a_run_it_cannot_see(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await started_run(secured, workers, device_id, site)

    issued = await secured.post(run_path(device_id, "stream-ticket"), headers=bearer(OTHER))

    assert issued.status == 404
    workers.block_confirm = False


def test_a_ticket_expires_after_a_minute() -> None:
    from api.stream_tickets import issue, redeem

    keys = KeyStore([READER_STORED])
    caller = keys.authenticate(READER)
    assert caller is not None
    ticket = issue(keys, caller, "devices/d1", now=1_000_000.0)

    assert redeem(keys, ticket.token, "devices/d1", now=1_000_059.0) is not None
    assert redeem(keys, ticket.token, "devices/d1", now=1_000_061.0) is None
    assert redeem(keys, ticket.token, "devices/d2", now=1_000_001.0) is None
    assert redeem(KeyStore([]), ticket.token, "devices/d1", now=1_000_001.0) is None
