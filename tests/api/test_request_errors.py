"""Bad requests and unknown routes: problem+json with a stable code, nothing echoed."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import ApiDependencies, create_app
from strategies.catalog import build_registry
from tests.api.conftest import PASSPHRASE, ApiClient, provision_body, run_path

PROBLEM = "application/problem+json"


async def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == PROBLEM
    problem: dict[str, Any] = await response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["type"] == f"urn:devprov:problem:{code}"
    assert problem["title"]
    assert problem["detail"]
    return problem


async def test_malformed_json_is_a_400_problem(api: ApiClient, device_id: str) -> None:
    response = await api.post(
        run_path(device_id), data=b'{"device": ', headers={"Content-Type": "application/json"}
    )

    await _problem(response, 400, "MALFORMED_JSON")


async def test_body_that_is_not_json_is_a_415_problem(api: ApiClient, device_id: str) -> None:
    response = await api.post(
        run_path(device_id), data=b"device=x", headers={"Content-Type": "text/plain"}
    )

    await _problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_unknown_fields_are_a_422_problem_listing_them(
    api: ApiClient, device_id: str, site: str
) -> None:
    body = {**provision_body(site), "colour": "blue"}

    response = await api.post(run_path(device_id), json=body)

    problem = await _problem(response, 422, "INVALID_REQUEST")
    assert problem["errors"] == [
        {"loc": ["colour"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]


async def test_invalid_values_are_reported_without_echoing_any_input(
    api: ApiClient, device_id: str, site: str
) -> None:
    body = provision_body(site, type="Not A Token!")
    body["network"]["ssid"] = "s" * 40

    response = await api.post(run_path(device_id), json=body)

    problem = await _problem(response, 422, "INVALID_REQUEST")
    assert {tuple(e["loc"]) for e in problem["errors"]} == {
        ("device", "type"),
        ("network", "ssid"),
    }
    assert all(set(e) == {"loc", "msg", "type"} for e in problem["errors"])
    text = await response.text()
    assert "Not A Token!" not in text
    assert "s" * 40 not in text
    assert PASSPHRASE not in text


async def test_a_device_id_in_the_body_must_match_the_path(
    api: ApiClient, device_id: str, site: str
) -> None:
    body = provision_body(site, device_id="someone-else")

    response = await api.post(run_path(device_id), json=body)

    problem = await _problem(response, 422, "INVALID_REQUEST")
    assert problem["errors"][0]["loc"] == ["device", "device_id"]


async def test_oversized_body_is_a_413_problem(api: ApiClient, device_id: str, site: str) -> None:
    body = provision_body(site, model="m" * 10_000)

    response = await api.post(run_path(device_id), json=body)

    await _problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_unknown_route_is_a_404_problem(api: ApiClient) -> None:
    response = await api.get("/api/v1/nothing-here")

    await _problem(response, 404, "NOT_FOUND")


async def test_wrong_method_is_a_405_problem_with_allow(api: ApiClient, device_id: str) -> None:
    response = await api.delete(run_path(device_id))

    await _problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}


async def test_disabled_strategy_is_a_422_problem(
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    api_deps: ApiDependencies,
    device_id: str,
    site: str,
) -> None:
    deps = dataclasses.replace(api_deps, registry=build_registry(disabled=("http-wifi",)))
    client = await aiohttp_client(create_app(deps))

    response = await client.post(run_path(device_id), json=provision_body(site))

    problem = await _problem(response, 422, "STRATEGY_DISABLED")
    assert {"strategy": "http-wifi", "reasons": ["switched off by configuration"]} in (
        problem["reasons"]
    )


async def test_unexpected_error_is_a_500_problem_without_details(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> None:
    async def explode(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app = create_app(api_deps)
    app.router.add_get("/explode", explode)
    client = await aiohttp_client(app)

    response = await client.get("/explode")

    await _problem(response, 500, "INTERNAL_ERROR")
    text = await response.text()
    assert "secret internals" not in text
    assert "Traceback" not in text


async def _unreachable_temporal_client(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> ApiClient:
    dead = await Client.connect("127.0.0.1:1", lazy=True, data_converter=pydantic_data_converter)
    return await aiohttp_client(create_app(dataclasses.replace(api_deps, temporal=dead)))


async def test_start_when_temporal_is_unreachable_is_a_503_problem(
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    api_deps: ApiDependencies,
    device_id: str,
    site: str,
) -> None:
    client = await _unreachable_temporal_client(aiohttp_client, api_deps)

    response = await client.post(run_path(device_id), json=provision_body(site))

    await _problem(response, 503, "TEMPORAL_UNAVAILABLE")


async def test_readiness_fails_when_temporal_is_unreachable(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies
) -> None:
    client = await _unreachable_temporal_client(aiohttp_client, api_deps)

    response = await client.get("/readyz")

    await _problem(response, 503, "TEMPORAL_UNAVAILABLE")
