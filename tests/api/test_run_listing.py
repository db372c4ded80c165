"""Listing runs and asking which strategy serves a device."""

from __future__ import annotations

from tests.api.conftest import ApiClient, provision_body, run_path, wait_for_execution
from tests.fakes import FakeWifiDevice


async def _listed(api: ApiClient, device_id: str, **filters: str) -> list[dict[str, object]]:
    response = await api.get("/api/v1/runs", params={"device": device_id, **filters})
    assert response.status == 200
    runs: list[dict[str, object]] = (await response.json())["runs"]
    return runs


async def test_runs_are_listed_with_their_recorded_state_and_links(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site))
    await wait_for_execution(api, device_id, "COMPLETED")

    # Visibility is eventually consistent: wait until it shows the final state.
    runs = await _listed(api, device_id, state="SUCCEEDED")
    for _ in range(50):
        if runs:
            break
        runs = await _listed(api, device_id, state="SUCCEEDED")

    [run] = runs
    assert run["device_id"] == device_id
    assert run["strategy"] == "http-wifi"
    assert run["site"] == site
    assert run["execution_status"] == "COMPLETED"
    assert run["links"]["self"] == run_path(device_id)  # type: ignore[index]
    assert await _listed(api, device_id, state="FAILED") == []


async def test_a_listing_with_an_unknown_state_is_refused_with_the_parameter_named(
    api: ApiClient,
) -> None:
    response = await api.get("/api/v1/runs", params={"state": "HAPPY", "limit": "0"})

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert sorted(e["loc"] for e in problem["errors"]) == [["query", "limit"], ["query", "state"]]


async def test_match_names_the_strategy_the_start_would_choose(api: ApiClient) -> None:
    device = {"device_id": "plug-1", "type": "wifi-relay", "vendor": "shelly"}
    response = await api.post(
        "/api/v1/strategies/match",
        json={"device": {**device, "capabilities": ["wifi", "http-rpc"]}},
    )

    assert response.status == 200
    match = await response.json()
    assert match["strategy"] == "http-wifi"
    assert match["requires_network"] is True
    assert match["placement"] == "edge"


async def test_match_names_the_secrets_a_zigbee_run_needs(api: ApiClient) -> None:
    device = {
        "device_id": "bulb-1",
        "type": "light",
        "vendor": "ikea",
        "capabilities": ["zigbee"],
        "transport_hints": {"ieee": "00:17:88:01:0b:1c:2d:01"},
    }

    match = await (await api.post("/api/v1/strategies/match", json={"device": device})).json()

    assert match["strategy"] == "zigbee"
    assert match["secrets"] == ["install_code"]
    assert match["requires_network"] is False


async def test_match_explains_why_no_strategy_serves_a_device(api: ApiClient) -> None:
    device = {"device_id": "toaster-1", "type": "toaster", "vendor": "acme", "capabilities": []}

    response = await api.post("/api/v1/strategies/match", json={"device": device})

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "UNSUPPORTED_DEVICE"
    considered = {reason["strategy"] for reason in problem["reasons"]}
    assert {"http-wifi", "improv-ble", "zigbee"} <= considered
