"""The device inventory routes: a tenant's registry records, filtered and paged.

The records are written the way runs write them (a claim, then an outcome) into a real
SQLite registry; the API only reads them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyStore, Scope, new_key
from domain.registry import DeviceClaim, DeviceFacts, Outcome, RunKind, RunOutcome
from registry import DeviceRegistry, opened_registry
from tests.api.conftest import ApiClient, bearer

ADMIN_A, ADMIN_A_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="admina")
READER_A, READER_A_STORED = new_key("tenant-a", [Scope.READ], key_id="readera")
ADMIN_B, ADMIN_B_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")

FLEET = [
    # device id, tenant, strategy, vendor, site, network (None: the run was undone)
    ("bulb-01", "tenant-a", "zigbee", "ikea", "lab", None),
    ("plug-01", "tenant-a", "http-wifi", "shelly", "lab", "lab-net"),
    ("plug-02", "tenant-a", "http-wifi", "shelly", "home", "home-net"),
    ("plug-03", "tenant-a", "wifi-cloud", "acme", "lab", "lab-net"),
    ("plug-04", "tenant-a", "http-wifi", "shelly", "lab", "lab-net"),
    ("relay-09", "tenant-b", "http-wifi", "shelly", "lab", "lab-net"),
]


async def run_through(registry: DeviceRegistry, row: tuple[str, ...] | tuple[Any, ...]) -> None:
    device_id, tenant, strategy, vendor, site, network = row
    run_id = f"run-{device_id}"
    await registry.claim(
        DeviceClaim(
            device_id=device_id,
            tenant=tenant,
            kind=RunKind.PROVISION,
            workflow_id=f"provision-{device_id}",
            run_id=run_id,
            strategy=strategy,
            vendor=vendor,
            site=site,
        )
    )
    await registry.record_outcome(
        RunOutcome(
            device_id=device_id,
            run_id=run_id,
            outcome=Outcome.DONE if network or strategy == "zigbee" else Outcome.UNDONE,
            facts=DeviceFacts(network_ssid=network),
        )
    )


@pytest.fixture
async def inventory(
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    api_deps: ApiDependencies,
    tmp_path: Path,
) -> AsyncIterator[ApiClient]:
    async with opened_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}") as registry:
        for row in FLEET:
            await run_through(registry, row)
        auth = AuthConfig(KeyStore([ADMIN_A_STORED, READER_A_STORED, ADMIN_B_STORED]))
        deps = dataclasses.replace(api_deps, auth=auth, devices=registry)
        yield await aiohttp_client(create_app(deps))


async def listed(api: ApiClient, key: str = READER_A, **params: str) -> dict[str, Any]:
    response = await api.get("/api/v1/devices", params=params, headers=bearer(key))
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["device_id"] for item in body["items"]]


async def test_lists_the_callers_tenants_devices_sorted_by_id(inventory: ApiClient) -> None:
    body = await listed(inventory)

    assert ids(body) == ["bulb-01", "plug-01", "plug-02", "plug-03", "plug-04"]
    assert body["next_cursor"] is None
    assert body["items"][1]["links"]["self"] == "/api/v1/devices/plug-01"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "IN_SERVICE", "site": "lab"}, ["bulb-01", "plug-01", "plug-03", "plug-04"]),
        ({"strategy": "http-wifi"}, ["plug-01", "plug-02", "plug-04"]),
        ({"vendor": "acme"}, ["plug-03"]),
        ({"network": "lab-net", "strategy": "http-wifi"}, ["plug-01", "plug-04"]),
        ({"state": "DECOMMISSIONED"}, []),
    ],
)
async def test_filters_narrow_the_listing(
    inventory: ApiClient, params: dict[str, str], expected: list[str]
) -> None:
    assert ids(await listed(inventory, **params)) == expected


async def test_the_cursor_pages_through_every_device_once(inventory: ApiClient) -> None:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = await listed(inventory, **params)
        pages.append(ids(body))
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == [["bulb-01", "plug-01"], ["plug-02", "plug-03"], ["plug-04"]]


async def test_shows_one_devices_record(inventory: ApiClient) -> None:
    response = await inventory.get("/api/v1/devices/plug-01", headers=bearer(READER_A))

    assert response.status == 200
    record = await response.json()
    assert {k: record[k] for k in ("tenant", "state", "strategy", "network_ssid")} == {
        "tenant": "tenant-a",
        "state": "IN_SERVICE",
        "strategy": "http-wifi",
        "network_ssid": "lab-net",
    }
    assert (record["last_run_id"], record["last_run_kind"]) == ("run-plug-01", "provision")


@pytest.mark.parametrize("device_id", ["relay-09", "never-seen"])
async def test_another_tenants_device_is_not_found_like_an_unknown_one(
    inventory: ApiClient, device_id: str
) -> None:
    response = await inventory.get(f"/api/v1/devices/{device_id}", headers=bearer(ADMIN_A))

    assert response.status == 404
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["code"] == "NOT_FOUND"
    assert "tenant-b" not in problem["detail"]


async def test_only_an_admin_key_lists_another_tenant(inventory: ApiClient) -> None:
    as_admin = await listed(inventory, ADMIN_A, tenant="tenant-b")
    as_reader = await inventory.get(
        "/api/v1/devices", params={"tenant": "tenant-b"}, headers=bearer(READER_A)
    )

    assert ids(as_admin) == ["relay-09"]
    assert as_reader.status == 403
    assert (await as_reader.json())["code"] == "FORBIDDEN"
    assert ids(await listed(inventory, READER_A, tenant="tenant-a"))[0] == "bulb-01"


@pytest.mark.parametrize(
    "params",
    [
        {"state": "ON_FIRE"},
        {"limit": "0"},
        {"limit": "1001"},
        {"cursor": "not a cursor!"},
        {"cursor": "%%%"},
        {"cursor": "A"},
        {"cursor": "7f"},
        {"cursor": "706"},
        {"colour": "red"},
        {"site": "lab\x00"},
        {"tenant": "Tenant B"},
    ],
)
async def test_bad_query_parameters_are_422_invalid_request(
    inventory: ApiClient, params: dict[str, str]
) -> None:
    response = await inventory.get("/api/v1/devices", params=params, headers=bearer(READER_A))

    assert response.status == 422
    assert (await response.json())["code"] == "INVALID_REQUEST"


async def test_an_invalid_device_id_in_the_path_is_422(inventory: ApiClient) -> None:
    response = await inventory.get("/api/v1/devices/-bad%20id", headers=bearer(READER_A))

    assert response.status == 422
    assert (await response.json())["code"] == "INVALID_REQUEST"


async def test_an_api_without_a_registry_knows_no_device(api: ApiClient) -> None:
    listing = await api.get("/api/v1/devices")
    shown = await api.get("/api/v1/devices/plug-01")

    assert (await listing.json()) == {"items": [], "next_cursor": None}
    assert shown.status == 404
