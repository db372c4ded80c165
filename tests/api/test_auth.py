"""The auth matrix: every route against no key, wrong key, wrong scope, other tenant."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyLimits, KeyStore, Scope, new_key
from tests.api.conftest import ApiClient, bearer, provision_body, run_path, wait_for_state
from tests.fakes import FakeWifiDevice

ADMIN_A, ADMIN_A_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="admina")
READER_A, READER_A_STORED = new_key("tenant-a", [Scope.READ], key_id="readera")
ADMIN_B, ADMIN_B_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")
WRONG = ADMIN_A[:-4] + "xxxx"


@pytest.fixture
async def secured(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> ApiClient:
    auth = AuthConfig(
        KeyStore([ADMIN_A_STORED, READER_A_STORED, ADMIN_B_STORED]),
        limits=KeyLimits(starts_per_minute=3, devices_per_hour=3, max_streams=1),
    )
    return await aiohttp_client(create_app(dataclasses.replace(api_deps, auth=auth)))


def routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route of the app."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path")
        if path and route.method != "HEAD":
            found.append((route.method, path))
    return sorted(set(found))


def concrete(path: str, device_id: str, fleet_id: str) -> str:
    return path.replace("{device_id}", device_id).replace("{fleet_id}", fleet_id)


PUBLIC = {"/healthz", "/readyz", "/console", "/console/config.json"}
READ_ONLY_POSTS = {
    "/api/v1/strategies/match",
    "/api/v1/devices/{device_id}/provision/stream-ticket",
    "/api/v1/fleets/{fleet_id}/provision/stream-ticket",
}
"""POSTs that change nothing: asking which strategy would serve a device, or for a
ticket to a run's streams."""


async def call(client: ApiClient, method: str, path: str, key: str | None) -> int:
    headers = bearer(key) if key else {}
    body: dict[str, Any] | None = {} if method == "POST" else None
    response = await client.request(method, path, json=body, headers=headers)
    await response.release()
    return response.status


async def test_every_route_refuses_a_missing_or_wrong_key(
    secured: ApiClient, device_id: str
) -> None:
    for method, template in routes(secured.app):
        path = concrete(template, device_id, "some-fleet")
        if template in PUBLIC:
            assert await call(secured, method, path, None) == 200, path
            continue
        assert await call(secured, method, path, None) == 401, (method, path)
        assert await call(secured, method, path, WRONG) == 401, (method, path)


async def test_a_read_only_key_cannot_change_anything(secured: ApiClient, device_id: str) -> None:
    for method, template in routes(secured.app):
        if method != "POST":
            continue
        path = concrete(template, device_id, "some-fleet")
        if template in READ_ONLY_POSTS:
            # An empty body for the match, no run to follow for the tickets.
            assert await call(secured, method, path, READER_A) in {404, 422}, path
            continue
        assert await call(secured, method, path, READER_A) == 403, path


async def test_another_tenants_run_answers_404_on_every_route(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    started = await secured.post(
        run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_A)
    )
    assert started.status == 202
    secured_headers = bearer(ADMIN_A)
    owner_view = await secured.get(run_path(device_id), headers=secured_headers)
    assert owner_view.status == 200

    device_routes = [
        (m, t)
        for m, t in routes(secured.app)
        if "{device_id}" in t and not t.endswith("/provision")
    ] + [("GET", "/api/v1/devices/{device_id}/provision")]
    for method, template in device_routes:
        path = concrete(template, device_id, "")
        assert await call(secured, method, path, ADMIN_B) == 404, (method, path)
    problem = await (await secured.get(run_path(device_id), headers=bearer(ADMIN_B))).json()
    assert problem["code"] == "RUN_NOT_FOUND"
    assert await call(secured, "GET", run_path(device_id), ADMIN_A) == 200
    workers.block_confirm = False


async def test_runs_record_the_key_and_tenant_that_started_them(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await secured.post(run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_A))

    status = await wait_for_state_with_key(secured, device_id, "SUCCEEDED")

    assert status["state"] == "SUCCEEDED"


async def wait_for_state_with_key(api: ApiClient, device_id: str, state: str) -> dict[str, Any]:
    api.session.headers.update(bearer(ADMIN_A))
    try:
        return await wait_for_state(api, device_id, state)
    finally:
        api.session.headers.pop("Authorization", None)


async def test_starts_beyond_the_keys_rate_are_refused_with_retry_after(
    secured: ApiClient, site: str
) -> None:
    statuses = []
    for n in range(4):
        response = await secured.post(
            run_path(f"rate-{n}-{id(secured)}"),
            json={"device": {"type": "t", "vendor": "v", "capabilities": []}},
            headers=bearer(ADMIN_B),
        )
        statuses.append(response.status)
        if response.status == 429:
            assert re.fullmatch(r"\d+", response.headers["Retry-After"])
            assert (await response.json())["code"] == "RATE_LIMITED"

    assert statuses[:3] == [422, 422, 422]
    assert statuses[3] == 429


async def test_a_key_may_not_follow_more_runs_at_once_than_its_cap(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    await secured.post(run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_A))
    first = await secured.get(run_path(device_id, "events"), headers=bearer(ADMIN_A))
    assert first.status == 200

    second = await secured.get(run_path(device_id, "events"), headers=bearer(ADMIN_A))

    assert second.status == 429
    assert (await second.json())["code"] == "TOO_MANY_STREAMS"
    first.close()
    workers.block_confirm = False


async def test_starting_a_device_another_tenant_is_provisioning_answers_404_without_its_run(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    workers.block_confirm = True
    owner = await secured.post(
        run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_A)
    )
    assert owner.status == 202
    owners_run = (await owner.json())["run_id"]

    other = await secured.post(
        run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_B)
    )

    assert other.status == 404
    problem = await other.json()
    assert problem["code"] == "NOT_FOUND"
    assert owners_run not in str(problem)
    assert "links" not in problem
    assert "workflow_id" not in problem
    # The owner's run goes on untouched.
    assert await call(secured, "GET", run_path(device_id), ADMIN_A) == 200
    workers.block_confirm = False


async def test_metrics_need_the_metrics_scope(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> None:
    scraper, scraper_stored = new_key("tenant-a", [Scope.METRICS], key_id="scraper")
    auth = AuthConfig(KeyStore([READER_A_STORED, ADMIN_A_STORED, scraper_stored]))
    client = await aiohttp_client(create_app(dataclasses.replace(api_deps, auth=auth)))

    assert await call(client, "GET", "/metrics", READER_A) == 403
    assert await call(client, "GET", "/metrics", scraper) == 200
    assert await call(client, "GET", "/metrics", ADMIN_A) == 200
    # The scraper's key reads nothing else.
    assert await call(client, "GET", "/api/v1/runs", scraper) == 403


async def test_a_fleet_counts_one_start_per_device_and_a_retry_counts_as_a_start(
    secured: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    template = provision_body(site)["device"]
    fleet = await secured.post(
        f"/api/v1/fleets/{device_id}/provision",
        json={
            "template": template,
            "devices": [{"device_id": f"{device_id}-{n}"} for n in range(4)],
        },
        headers=bearer(ADMIN_B),
    )
    problem = await fleet.json()
    assert fleet.status == 429, problem  # 4 devices, 3 an hour
    assert problem["code"] == "RATE_LIMITED"

    started = await secured.post(
        run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_A)
    )
    assert started.status == 202
    await wait_for_state_with_key(secured, device_id, "SUCCEEDED")
    retries = [
        (await secured.post(run_path(device_id, "retry"), headers=bearer(ADMIN_A))).status
        for _ in range(3)
    ]
    assert 429 in retries, retries
