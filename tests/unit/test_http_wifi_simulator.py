"""The HTTP Wi-Fi device simulator: its join state machine, RPC API and control API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient

from simulators.http_wifi import (
    LAB_NETWORK_PASSPHRASE,
    LAB_NETWORK_SSID,
    DeviceFaults,
    JoinFailure,
    JoinStatus,
    SimulatedWifiDevice,
    StaConfig,
    WifiDeviceFleet,
    create_simulator_app,
    default_fleet,
    start_simulator,
)

LAB = {LAB_NETWORK_SSID: LAB_NETWORK_PASSPHRASE}
SECRET = LAB_NETWORK_PASSPHRASE
LAB_STA = StaConfig(ssid=LAB_NETWORK_SSID, passphrase=SECRET, enable=True)


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def configured(device: SimulatedWifiDevice, sta: StaConfig = LAB_STA, at: float = 0.0) -> None:
    device.configure_sta(sta, now=at)


# --- join state machine ----------------------------------------------------------------


def test_new_device_is_in_setup_mode_and_disconnected() -> None:
    device = SimulatedWifiDevice("plug-1")

    assert device.in_setup_mode
    assert device.wifi_status(0.0, LAB).status is JoinStatus.DISCONNECTED
    assert device.wifi_status(0.0, LAB).sta_error is None


def test_join_is_connecting_until_the_join_delay_has_passed() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=2.0)
    configured(device, at=10.0)

    status = device.wifi_status(11.9, LAB)

    assert status.status is JoinStatus.CONNECTING
    assert status.ssid == LAB_NETWORK_SSID


def test_join_gets_an_address_once_the_join_delay_has_passed() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=2.0, host_number=42)
    configured(device, at=10.0)

    status = device.wifi_status(12.0, LAB)

    assert status.status is JoinStatus.GOT_IP
    assert (status.ssid, status.sta_ip, status.rssi) == (LAB_NETWORK_SSID, "10.77.0.42", -55)


def test_join_of_an_unknown_network_ends_in_no_ap_found() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=0.0)
    configured(device, StaConfig(ssid="elsewhere", passphrase=SECRET, enable=True))

    status = device.wifi_status(1.0, LAB)

    assert status.status is JoinStatus.DISCONNECTED
    assert status.sta_error is JoinFailure.NO_AP_FOUND


def test_join_with_a_wrong_passphrase_ends_in_auth_failed() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=0.0)
    configured(device, StaConfig(ssid=LAB_NETWORK_SSID, passphrase="not-the-one", enable=True))

    status = device.wifi_status(1.0, LAB)

    assert status.status is JoinStatus.DISCONNECTED
    assert status.sta_error is JoinFailure.AUTH_FAILED


def test_wrong_passphrase_fault_rejects_even_the_right_passphrase() -> None:
    device = SimulatedWifiDevice(
        "plug-1", join_delay=0.0, faults=DeviceFaults(wrong_passphrase=True)
    )
    configured(device)

    assert device.wifi_status(1.0, LAB).sta_error is JoinFailure.AUTH_FAILED


def test_open_network_is_joined_with_an_empty_passphrase() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=0.0)
    configured(device, StaConfig(ssid="cafe", passphrase="", enable=True))

    assert device.wifi_status(1.0, {"cafe": ""}).status is JoinStatus.GOT_IP


def test_slow_join_adds_to_the_join_delay() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=1.0, faults=DeviceFaults(slow_join=3.0))
    configured(device, at=0.0)

    assert device.wifi_status(3.9, LAB).status is JoinStatus.CONNECTING
    assert device.wifi_status(4.0, LAB).status is JoinStatus.GOT_IP


def test_never_joins_stays_connecting_forever() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=0.0, faults=DeviceFaults(never_joins=True))
    configured(device)

    assert device.wifi_status(1e9, LAB).status is JoinStatus.CONNECTING


def test_writing_the_same_config_again_changes_nothing() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=5.0)
    configured(device, at=0.0)

    changed = device.configure_sta(LAB_STA, now=4.0)

    assert not changed
    assert device.counters.wifi_config_writes == 1
    assert device.counters.set_config_calls == 2
    assert device.wifi_status(5.0, LAB).status is JoinStatus.GOT_IP, "join was not restarted"


def test_writing_a_different_config_restarts_the_join() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=5.0)
    configured(device, StaConfig(ssid=LAB_NETWORK_SSID, passphrase="first-guess", enable=True))

    changed = device.configure_sta(LAB_STA, now=10.0)

    assert changed
    assert device.counters.wifi_config_writes == 2
    assert device.wifi_status(14.0, LAB).status is JoinStatus.CONNECTING


def test_factory_reset_returns_to_setup_mode_and_is_counted() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=0.0)
    configured(device)

    device.factory_reset()

    assert device.in_setup_mode
    assert device.sta == StaConfig()
    assert device.counters.factory_resets == 1
    assert device.wifi_status(1.0, LAB).status is JoinStatus.DISCONNECTED


def test_counted_fault_is_used_up_one_request_at_a_time() -> None:
    device = SimulatedWifiDevice("plug-1", faults=DeviceFaults(busy=2))

    assert [device.take_fault("busy") for _ in range(3)] == [True, True, False]
    assert device.faults.busy == 0


def test_station_config_repr_hides_the_passphrase() -> None:
    assert SECRET not in repr(LAB_STA)
    assert SECRET not in repr(SimulatedWifiDevice("plug-1", sta=LAB_STA))


def test_snapshot_shows_state_counters_and_faults_but_not_the_passphrase() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=0.0, faults=DeviceFaults(latency=0.5))
    configured(device)

    snapshot = device.snapshot(1.0, LAB)

    assert snapshot["setup_mode"] is False
    assert snapshot["wifi"]["status"]["status"] == "got ip"  # type: ignore[index]
    assert snapshot["counters"]["wifi_config_writes"] == 1  # type: ignore[index]
    assert snapshot["faults"]["latency"] == 0.5  # type: ignore[index]
    assert SECRET not in str(snapshot)


# --- fleet ------------------------------------------------------------------------------


def test_fleet_gives_each_device_its_own_address() -> None:
    fleet = WifiDeviceFleet([SimulatedWifiDevice("a"), SimulatedWifiDevice("b")])

    assert fleet["a"].sta_ip != fleet["b"].sta_ip


def test_fleet_refuses_a_second_device_with_the_same_id() -> None:
    fleet = WifiDeviceFleet([SimulatedWifiDevice("a")])

    with pytest.raises(ValueError, match="already exists"):
        fleet.add(SimulatedWifiDevice("a"))


def test_fleet_refuses_a_network_with_an_invalid_passphrase() -> None:
    with pytest.raises(ValueError, match="8 to 63"):
        WifiDeviceFleet(networks={"lab": "short"})


def test_default_fleet_has_the_embedded_default_devices() -> None:
    fleet = default_fleet()

    models = {d.device_id: d.model for d in fleet.devices}
    assert {k: v for k, v in models.items() if k.startswith("shelly-")} == {
        "shelly-plus1-kitchen": "SNSW-001X16EU",
        "shelly-plus1-garage": "SNSW-001X16EU",
        "shelly-pro4-lab": "SPSW-004PE16EU",
    }
    assert models["acme-hub-lobby"] == "ACME-HUB-2"
    assert fleet["shelly-plus1-garage"].faults.slow_join == 3.0
    line = [d for d in fleet.devices if d.device_id.startswith("line-plug-")]
    assert len(line) == 100
    assert [d.device_id for d in line if d.faults.never_joins] == [
        f"line-plug-{n:03d}" for n in range(9, 100, 10)
    ]
    assert fleet.networks == {LAB_NETWORK_SSID: LAB_NETWORK_PASSPHRASE}


# --- RPC over HTTP ----------------------------------------------------------------------

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fleet(clock: FakeClock) -> WifiDeviceFleet:
    return WifiDeviceFleet(
        [SimulatedWifiDevice("plug-1", join_delay=2.0), SimulatedWifiDevice("plug-2")],
        clock=clock,
    )


@pytest.fixture
async def client(aiohttp_client: ClientFactory, fleet: WifiDeviceFleet) -> TestClient[Any, Any]:
    return await aiohttp_client(create_simulator_app(fleet))


async def rpc(
    client: TestClient[Any, Any], method: str, params: dict[str, Any] | None = None, **extra: Any
) -> tuple[int, dict[str, Any]]:
    device_id = extra.pop("device_id", "plug-1")
    frame = {"id": 7, "src": "test", "method": method, **extra}
    if params is not None:
        frame["params"] = params
    response = await client.post(f"/devices/{device_id}/rpc", json=frame)
    return response.status, await response.json()


def set_config_params(passphrase: str = SECRET, ssid: str = LAB_NETWORK_SSID) -> dict[str, Any]:
    return {"config": {"sta": {"ssid": ssid, "pass": passphrase, "enable": True}}}


async def test_rpc_answer_carries_request_id_and_device_as_source(client) -> None:
    status, body = await rpc(client, "Shelly.GetDeviceInfo")

    assert status == 200
    assert (body["id"], body["src"], body["dst"]) == (7, "plug-1", "test")


async def test_get_device_info_describes_the_device(client, fleet) -> None:
    _, body = await rpc(client, "Shelly.GetDeviceInfo")

    assert body["result"] == {
        "name": None,
        "id": "plug-1",
        "mac": fleet["plug-1"].mac,
        "slot": 0,
        "model": "SNSW-001X16EU",
        "gen": 2,
        "fw_id": "20240612-093215/1.4.2-gdevprov",
        "ver": "1.4.2",
        "app": "Plus1",
        "auth_en": False,
        "auth_domain": None,
    }


async def test_method_names_are_case_insensitive(client) -> None:
    _, body = await rpc(client, "shelly.getdeviceinfo")

    assert body["result"]["id"] == "plug-1"


async def test_get_config_of_a_device_in_setup_mode(client) -> None:
    _, body = await rpc(client, "WiFi.GetConfig")

    assert body["result"]["ap"]["enable"] is True
    assert body["result"]["sta"] == {
        "ssid": None,
        "is_open": True,
        "enable": False,
        "ipv4mode": "dhcp",
    }


async def test_set_config_then_status_follows_the_join(client, clock) -> None:
    _, applied = await rpc(client, "WiFi.SetConfig", set_config_params())
    _, connecting = await rpc(client, "WiFi.GetStatus")
    clock.advance(2.0)
    _, joined = await rpc(client, "WiFi.GetStatus")

    assert applied["result"] == {"restart_required": False}
    assert connecting["result"]["status"] == "connecting"
    assert joined["result"] == {
        "sta_ip": "10.77.0.10",
        "status": "got ip",
        "ssid": LAB_NETWORK_SSID,
        "rssi": -55,
    }


async def test_get_config_never_returns_the_passphrase(client) -> None:
    await rpc(client, "WiFi.SetConfig", set_config_params())

    _, body = await rpc(client, "WiFi.GetConfig")

    assert body["result"]["sta"]["ssid"] == LAB_NETWORK_SSID
    assert "pass" not in body["result"]["sta"]
    assert SECRET not in str(body)


async def test_status_of_a_refused_passphrase_carries_sta_error(client, clock) -> None:
    await rpc(client, "WiFi.SetConfig", set_config_params(passphrase="not-the-passphrase"))
    clock.advance(2.0)

    _, body = await rpc(client, "WiFi.GetStatus")

    assert body["result"]["status"] == "disconnected"
    assert body["result"]["sta_error"] == "auth_failed"


async def test_invalid_set_config_is_answered_with_invalid_argument(client, fleet) -> None:
    status, body = await rpc(client, "WiFi.SetConfig", set_config_params(passphrase="short"))

    assert status == 200
    assert body["error"]["code"] == -103
    assert "short" not in body["error"]["message"]
    assert fleet["plug-1"].counters.set_config_calls == 0


async def test_set_config_without_config_is_invalid_argument(client) -> None:
    _, body = await rpc(client, "WiFi.SetConfig", {})

    assert body["error"]["code"] == -103


async def test_unknown_method_is_answered_with_not_found(client) -> None:
    _, body = await rpc(client, "Switch.Toggle")

    assert body["error"]["code"] == -105


async def test_frame_that_is_not_json_is_a_bad_request(client) -> None:
    response = await client.post("/devices/plug-1/rpc", data=b"{nope")

    assert response.status == 400
    assert (await response.json())["error"]["code"] == -103


async def test_unknown_device_answers_http_404(client) -> None:
    response = await client.post("/devices/ghost/rpc", json={"id": 1, "method": "WiFi.GetStatus"})

    assert response.status == 404
    assert (await response.json())["error"] == "device_not_found"


async def test_auth_enabled_device_refuses_everything_but_device_info(client, fleet) -> None:
    fleet["plug-1"].auth_enabled = True

    info_status, info = await rpc(client, "Shelly.GetDeviceInfo")
    config_status, config = await rpc(client, "WiFi.GetConfig")

    assert (info_status, info["result"]["auth_en"]) == (200, True)
    assert (config_status, config["error"]["code"]) == (401, 401)


async def test_busy_device_answers_resource_unavailable_with_a_retry_hint(client, fleet) -> None:
    fleet["plug-1"].faults = DeviceFaults(busy=1, busy_retry_after=2.5)

    _, busy = await rpc(client, "WiFi.GetStatus")
    _, after = await rpc(client, "WiFi.GetStatus")

    assert busy["error"]["code"] == -114
    assert busy["error"]["retry_after"] == 2.5
    assert "result" in after


async def test_factory_reset_answers_null_and_returns_to_setup_mode(client, fleet) -> None:
    await rpc(client, "WiFi.SetConfig", set_config_params())

    _, body = await rpc(client, "Shelly.FactoryReset")

    assert body["result"] is None
    assert fleet["plug-1"].in_setup_mode


async def test_rpc_calls_are_counted_per_method(client, fleet) -> None:
    await rpc(client, "WiFi.GetStatus")
    await rpc(client, "wifi.getstatus")
    await rpc(client, "Shelly.GetDeviceInfo")

    assert fleet["plug-1"].counters.rpc_calls == {"WiFi.GetStatus": 2, "Shelly.GetDeviceInfo": 1}


async def test_http_get_answers_the_bare_result(client) -> None:
    response = await client.get("/devices/plug-1/rpc/Shelly.GetDeviceInfo")

    assert response.status == 200
    assert (await response.json())["id"] == "plug-1"


async def test_http_get_of_a_busy_device_is_503_with_retry_after(client, fleet) -> None:
    fleet["plug-1"].faults = DeviceFaults(busy=1, busy_retry_after=2.0)

    response = await client.get("/devices/plug-1/rpc/WiFi.GetStatus")

    assert response.status == 503
    assert response.headers["Retry-After"] == "2"
    assert (await response.json())["code"] == -114


async def test_server_error_fault_answers_http_500(client, fleet) -> None:
    fleet["plug-1"].faults = DeviceFaults(server_errors=1)

    response = await client.post("/devices/plug-1/rpc", json={"id": 1, "method": "WiFi.GetStatus"})

    assert response.status == 500


async def test_garbled_fault_answers_a_body_that_is_not_json(client, fleet) -> None:
    fleet["plug-1"].faults = DeviceFaults(garbled_responses=1)

    response = await client.post("/devices/plug-1/rpc", json={"id": 1, "method": "WiFi.GetStatus"})

    assert response.status == 200
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON decoding error
        await response.json(content_type=None)


async def test_logs_never_contain_the_passphrase(client, caplog) -> None:
    caplog.set_level(logging.DEBUG)

    await rpc(client, "WiFi.SetConfig", set_config_params())
    await rpc(client, "WiFi.SetConfig", set_config_params(passphrase="x"))

    assert "WiFi.SetConfig" in caplog.text
    assert SECRET not in caplog.text


# --- control API ------------------------------------------------------------------------


async def test_control_lists_devices_without_passphrases(client) -> None:
    await rpc(client, "WiFi.SetConfig", set_config_params())

    response = await client.get("/_sim/devices")
    body = await response.json()

    assert [d["device_id"] for d in body["devices"]] == ["plug-1", "plug-2"]
    assert body["devices"][0]["counters"]["wifi_config_writes"] == 1
    assert SECRET not in await response.text()


async def test_control_shows_one_device(client) -> None:
    response = await client.get("/_sim/devices/plug-2")

    assert response.status == 200
    assert (await response.json())["setup_mode"] is True


async def test_control_answers_404_for_an_unknown_device(client) -> None:
    response = await client.get("/_sim/devices/ghost")

    assert response.status == 404


async def test_control_adds_a_device_that_answers_rpc(client) -> None:
    created = await client.post(
        "/_sim/devices",
        json={"device_id": "plug-3", "model": "SPSW-004PE16EU", "faults": {"slow_join": 1}},
    )
    _, info = await rpc(client, "Shelly.GetDeviceInfo", device_id="plug-3")

    assert created.status == 201
    assert (await created.json())["faults"]["slow_join"] == 1
    assert info["result"]["model"] == "SPSW-004PE16EU"


async def test_control_refuses_a_duplicate_device(client) -> None:
    response = await client.post("/_sim/devices", json={"device_id": "plug-1"})

    assert response.status == 409


async def test_control_refuses_an_invalid_device(client) -> None:
    response = await client.post("/_sim/devices", json={"device_id": "bad id", "colour": "red"})

    assert response.status == 422


async def test_control_removes_a_device(client) -> None:
    removed = await client.delete("/_sim/devices/plug-2")
    response = await client.post("/devices/plug-2/rpc", json={"id": 1, "method": "WiFi.GetStatus"})

    assert removed.status == 204
    assert response.status == 404


async def test_control_changes_device_properties(client, fleet) -> None:
    response = await client.patch("/_sim/devices/plug-1", json={"auth_enabled": True})

    assert response.status == 200
    assert fleet["plug-1"].auth_enabled is True


async def test_control_sets_some_faults_and_keeps_the_others(client, fleet) -> None:
    fleet["plug-1"].faults = DeviceFaults(latency=0.2)

    response = await client.patch("/_sim/devices/plug-1/faults", json={"busy": 3})

    assert response.status == 200
    assert fleet["plug-1"].faults == DeviceFaults(latency=0.2, busy=3)


async def test_control_refuses_unknown_or_invalid_faults(client) -> None:
    unknown = await client.patch("/_sim/devices/plug-1/faults", json={"gremlins": True})
    negative = await client.patch("/_sim/devices/plug-1/faults", json={"busy": -1})

    assert (unknown.status, negative.status) == (422, 422)


async def test_control_reset_restores_setup_mode_without_faults_or_counters(client, fleet) -> None:
    await rpc(client, "WiFi.SetConfig", set_config_params())
    fleet["plug-1"].faults = DeviceFaults(unreachable=True)

    response = await client.post("/_sim/devices/plug-1/reset")
    body = await response.json()

    assert body["setup_mode"] is True
    assert body["faults"] == DeviceFaults().model_dump()
    assert body["counters"]["wifi_config_writes"] == 0
    assert body["counters"]["rpc_calls"] == {}


async def test_control_lists_networks_without_passphrases(client) -> None:
    response = await client.get("/_sim/networks")

    assert await response.json() == {"networks": [{"ssid": LAB_NETWORK_SSID, "open": False}]}
    assert SECRET not in await response.text()


async def test_control_replaces_the_networks(client, fleet) -> None:
    response = await client.put(
        "/_sim/networks", json={"networks": {"attic": "attic-passphrase", "cafe": ""}}
    )

    assert response.status == 200
    assert fleet.networks == {"attic": "attic-passphrase", "cafe": ""}


async def test_control_adds_one_network(client, fleet) -> None:
    response = await client.put("/_sim/networks/attic", json={"passphrase": "attic-passphrase"})

    assert response.status == 200
    assert fleet.networks["attic"] == "attic-passphrase"
    assert LAB_NETWORK_SSID in fleet.networks


async def test_control_removes_one_network(client, fleet) -> None:
    response = await client.delete(f"/_sim/networks/{LAB_NETWORK_SSID}")

    assert response.status == 204
    assert fleet.networks == {}


async def test_control_refusal_of_a_network_does_not_echo_its_passphrase(client) -> None:
    response = await client.put("/_sim/networks", json={"networks": {"attic": "tiny"}})
    wrong_type = await client.put("/_sim/networks", json={"networks": {"attic": 12345678}})

    assert response.status == 422
    assert "tiny" not in await response.text()
    assert wrong_type.status == 422
    assert "12345678" not in await wrong_type.text()


# --- running on a port ------------------------------------------------------------------


async def test_started_simulator_serves_devices_at_their_address() -> None:
    simulator = await start_simulator(default_fleet())
    try:
        address = simulator.device_address("shelly-pro4-lab")
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.get(f"{address}/rpc/Shelly.GetDeviceInfo")
    finally:
        await simulator.close()

    assert simulator.base_url.startswith("http://127.0.0.1:")
    assert not simulator.base_url.endswith(":0")
    assert response.json()["model"] == "SPSW-004PE16EU"


async def test_closed_simulator_no_longer_accepts_connections() -> None:
    simulator = await start_simulator(default_fleet())
    await simulator.close()

    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{simulator.base_url}/_sim/devices")


# --- the fallback station (sta1) and dropping off a network ------------------------------

GUEST = "devprov-guest"
GUEST_SECRET = "guest-horse-battery"
BOTH = {**LAB, GUEST: GUEST_SECRET}


def moved_to(sta: StaConfig, *, networks: dict[str, str], at: float) -> SimulatedWifiDevice:
    """A device on the lab network given `sta` at `at`, the lab network kept as `sta1`."""
    device = SimulatedWifiDevice("plug-1", join_delay=1.0)
    device.configure_sta(LAB_STA, now=0.0)
    device.configure_sta(sta, now=at, sta1=LAB_STA, networks=networks)
    return device


def test_a_device_leaving_its_network_is_unreachable_until_it_joins_the_new_one() -> None:
    device = moved_to(
        StaConfig(ssid=GUEST, passphrase=GUEST_SECRET, enable=True), networks=BOTH, at=10.0
    )

    assert device.left_network
    assert not device.reachable(10.5, BOTH)
    assert device.wifi_status(11.0, BOTH).ssid == GUEST
    assert device.reachable(11.0, BOTH)


def test_a_device_that_cannot_join_falls_back_to_its_previous_network() -> None:
    wrong = StaConfig(ssid=GUEST, passphrase="not-the-guest-passphrase", enable=True)
    device = moved_to(wrong, networks=BOTH, at=10.0)

    failed = device.wifi_status(11.5, BOTH)
    back = device.wifi_status(12.0, BOTH)

    assert (failed.status, failed.ssid) == (JoinStatus.CONNECTING, LAB_NETWORK_SSID)
    assert not device.reachable(11.5, BOTH)
    assert (back.status, back.ssid) == (JoinStatus.GOT_IP, LAB_NETWORK_SSID)
    assert device.reachable(12.0, BOTH)


def test_the_lost_fault_keeps_a_device_that_cannot_join_off_every_network() -> None:
    wrong = StaConfig(ssid=GUEST, passphrase="not-the-guest-passphrase", enable=True)
    device = moved_to(wrong, networks=BOTH, at=10.0)
    device.faults = DeviceFaults(lost_after_failed_join=True)

    status = device.wifi_status(60.0, BOTH)

    assert (status.status, status.sta_error) == (JoinStatus.DISCONNECTED, JoinFailure.AUTH_FAILED)
    assert not device.reachable(60.0, BOTH)


def test_a_device_in_set_up_mode_is_reachable_while_it_joins() -> None:
    device = SimulatedWifiDevice("plug-1", join_delay=1.0)
    device.configure_sta(LAB_STA, now=0.0, networks=LAB)

    assert not device.left_network
    assert device.reachable(0.5, LAB)


def test_a_factory_reset_forgets_the_fallback_and_the_drop_off() -> None:
    device = moved_to(
        StaConfig(ssid=GUEST, passphrase=GUEST_SECRET, enable=True), networks=BOTH, at=10.0
    )

    device.factory_reset()

    assert (device.sta1, device.left_network) == (StaConfig(), False)
    assert device.reachable(10.1, BOTH)
