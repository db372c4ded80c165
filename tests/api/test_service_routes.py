"""Strategies, the OpenAPI document, health, readiness and metrics."""

from __future__ import annotations

from typing import Any

import schemathesis
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import ApiClient, provision_body, run_path


async def test_strategies_lists_each_strategy_with_its_switches(api: ApiClient) -> None:
    response = await api.get("/api/v1/strategies")

    assert response.status == 200
    strategies = {strategy["name"]: strategy for strategy in await response.json()}
    assert {"http-wifi", "improv-ble"} <= set(strategies)
    strategy = strategies["http-wifi"]
    assert strategy["workflow"] == "HttpWifiProvisioning"
    assert strategy["required_capabilities"] == ["http-rpc", "wifi"]
    assert strategy["enabled"] is True
    assert strategy["default"] is False


async def test_strategies_serve_their_familys_request_schema_and_examples(
    api: ApiClient,
) -> None:
    strategies = {s["name"]: s for s in await (await api.get("/api/v1/strategies")).json()}

    zigbee = strategies["zigbee"]
    assert zigbee["request_schema"]["title"] == "ZigbeeProvisionRequest"
    assert zigbee["request_schema"]["properties"]["secrets"]["required"] == ["install_code"]
    assert [example["body"]["device"]["device_id"] for example in zigbee["examples"]] == [
        "zb-plug-office"
    ]
    http_wifi = strategies["http-wifi"]
    assert http_wifi["request_schema"]["title"] == "ProvisionRequest"
    assert {example["title"] for example in http_wifi["examples"]} >= {
        "Wi-Fi relay (Shelly, HTTP RPC)"
    }
    assert all(strategy["examples"] for strategy in strategies.values())


async def test_a_request_missing_what_its_family_needs_is_refused_before_any_run(
    api: ApiClient, device_id: str, site: str
) -> None:
    body = {
        "device": {
            "type": "smart-plug",
            "vendor": "sonoff",
            "capabilities": ["zigbee"],
            "site": site,
            "transport_hints": {"ieee": "00:12:4b:00:25:1c:2d:02"},
        }
    }

    response = await api.post(run_path(device_id), json=body)

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert [error["loc"] for error in problem["errors"]] == [["secrets"]]
    assert "install_code" in problem["errors"][0]["msg"]
    assert (await api.get(run_path(device_id))).status == 404


async def test_openapi_document_lists_each_familys_request_schema(api: ApiClient) -> None:
    document = await (await api.get("/api/v1/openapi.json")).json()

    start = document["paths"]["/api/v1/devices/{device_id}/provision"]["post"]
    families = start["requestBody"]["x-devprov-family-requests"]
    assert families["zigbee"] == {"$ref": "#/components/schemas/ZigbeeProvisionRequest"}
    assert families["http-wifi"] == {"$ref": "#/components/schemas/ProvisionRequest"}
    schema = document["components"]["schemas"]["ZigbeeProvisionRequest"]
    assert schema["required"] == ["device", "secrets"]


async def test_openapi_document_describes_every_route(api: ApiClient) -> None:
    response = await api.get("/api/v1/openapi.json")
    document = await response.json()

    assert document["openapi"].startswith("3.2")
    routes = {
        (route.resource.canonical, route.method.lower())
        for route in api.app.router.routes()
        if route.resource is not None
        and route.method not in {"HEAD", "*"}
        # The console's files are not API routes.
        and not isinstance(route.resource, web.StaticResource)
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item} - {
        (path, "parameters") for path in document["paths"]
    }
    assert routes - documented == set()
    assert documented - routes == set()


async def test_openapi_document_is_valid_against_the_openapi_meta_schema(api: ApiClient) -> None:
    document = await (await api.get("/api/v1/openapi.json")).json()

    # Raises on the first violation, e.g. `itemSchema` in a document that says 3.1.
    schemathesis.openapi.from_dict(document).validate()


async def test_event_streams_describe_each_event_with_its_json_payload(api: ApiClient) -> None:
    document = await (await api.get("/api/v1/openapi.json")).json()
    streams = {
        "/api/v1/devices/{device_id}/provision/events": ("progress", "StreamedEvent"),
        "/api/v1/fleets/{fleet_id}/provision/events": ("fleet-progress", "FleetSnapshot"),
    }

    for path, (event, payload) in streams.items():
        media = document["paths"][path]["get"]["responses"]["200"]["content"]
        item = media["text/event-stream"]["itemSchema"]
        assert item["required"] == ["event", "id", "data"], path
        assert item["properties"]["event"] == {"const": event}, path
        data = item["properties"]["data"]
        assert data["type"] == "string", path
        assert data["contentMediaType"] == "application/json", path
        assert data["contentSchema"] == {"$ref": f"#/components/schemas/{payload}"}, path


async def test_openapi_references_resolve_to_component_schemas(api: ApiClient) -> None:
    document = await (await api.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]

    refs = set(_refs(document))

    assert refs
    assert {ref.removeprefix("#/components/schemas/") for ref in refs} <= schemas.keys()
    assert {"ProvisionRequest", "NetworkCredentials", "Problem", "StartedRun"} <= schemas.keys()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_healthz_answers_ok(api: ApiClient) -> None:
    response = await api.get("/healthz")

    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_answers_ok_when_temporal_serves(api: ApiClient) -> None:
    response = await api.get("/readyz")

    assert response.status == 200
    assert (await response.json())["status"] == "ready"


async def test_metrics_count_requests_by_route_and_status_and_runs_by_strategy(
    api: ApiClient, device_id: str, site: str
) -> None:
    await api.get("/healthz")
    await api.get("/api/v1/nothing-here")
    await api.post(run_path(device_id), json=provision_body(site))

    response = await api.get("/metrics")

    assert response.status == 200
    assert response.content_type == "text/plain"
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }
    assert (
        samples[
            (
                "devprov_api_requests_total",
                (("method", "GET"), ("route", "/healthz"), ("status", "200")),
            )
        ]
        == 1
    )
    assert (
        samples[
            (
                "devprov_api_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")),
            )
        ]
        == 1
    )
    assert samples[("devprov_api_runs_started_total", (("strategy", "http-wifi"),))] == 1
