"""Contract of `HttpWifiAdapter` (WifiSetupPort) against the HTTP Wi-Fi simulator.

Every test runs the real adapter over real HTTP against a simulator on loopback, and
asserts what the adapter returns or raises and what the device saw.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import SecretStr

from adapters.errors import (
    CredentialsRejected,
    DeviceBusy,
    DeviceProtocolError,
    DeviceRejectedRequest,
    DeviceTimeout,
    DeviceUnreachable,
    NetworkJoinPending,
)
from adapters.http_wifi import HttpWifiAdapter, ShellyRpcClient
from adapters.http_wifi.port import WifiSetupPort
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.facts import NetworkJoin
from domain.requests import NetworkCredentials
from simulators.http_wifi import (
    LAB_NETWORK_PASSPHRASE,
    LAB_NETWORK_SSID,
    DeviceFaults,
    RunningSimulator,
    StaConfig,
)
from tests.contract.assertions import assert_error, assert_no_secret

KITCHEN = "plug-kitchen"
LAB_CREDENTIALS = NetworkCredentials(
    ssid=LAB_NETWORK_SSID, passphrase=SecretStr(LAB_NETWORK_PASSPHRASE)
)
WRONG_PASSPHRASE = "definitely-not-it"


def device(device_id: str = KITCHEN, **hints: str) -> DeviceDescriptor:
    return DeviceDescriptor(
        device_id=device_id,
        type="wifi-relay",
        vendor="shelly",
        capabilities=frozenset({"wifi", "http-rpc"}),
        transport_hints=hints,
    )


def credentials(passphrase: str, ssid: str = LAB_NETWORK_SSID) -> NetworkCredentials:
    return NetworkCredentials(ssid=ssid, passphrase=SecretStr(passphrase))


def test_adapter_implements_the_wifi_setup_port(wifi_adapter: HttpWifiAdapter) -> None:
    port: WifiSetupPort = wifi_adapter

    assert port is wifi_adapter


# --- request/response mapping -----------------------------------------------------------


async def test_identify_maps_device_info(wifi_adapter, wifi_fleet) -> None:
    found = await wifi_adapter.identify(device())

    assert (found.device_id, found.model, found.firmware) == (KITCHEN, "SNSW-001X16EU", "1.4.2")
    assert found.attributes["auth_enabled"] == "false"
    assert found.attributes["mac"] == wifi_fleet[KITCHEN].mac
    assert found.attributes["gen"] == "2"


async def test_identify_reports_the_device_that_answers(wifi_adapter, wifi_simulator) -> None:
    found = await wifi_adapter.identify(
        device(KITCHEN, address=wifi_simulator.device_address("pro4-lab"))
    )

    assert (found.device_id, found.model) == ("pro4-lab", "SPSW-004PE16EU")


async def test_read_state_of_a_device_in_setup_mode(wifi_adapter) -> None:
    state = await wifi_adapter.read_state(device())

    assert state.provisioned is False
    assert state.network_ssid is None
    assert state.attributes["ap_enabled"] == "true"


async def test_read_state_of_a_configured_device_names_its_network(wifi_adapter) -> None:
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    state = await wifi_adapter.read_state(device())

    assert (state.provisioned, state.network_ssid) == (True, LAB_NETWORK_SSID)


async def test_read_state_with_auth_enabled_reports_identity_only(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].auth_enabled = True

    state = await wifi_adapter.read_state(device())

    assert state.attributes["auth_enabled"] == "true"
    assert state.attributes["wifi_config_readable"] == "false"
    assert wifi_fleet[KITCHEN].counters.rpc_calls == {"Shelly.GetDeviceInfo": 1}


async def test_read_state_right_after_identify_asks_the_device_its_configuration_only(
    wifi_adapter, wifi_fleet
) -> None:
    found = await wifi_adapter.identify(device())
    state = await wifi_adapter.read_state(device())
    again = await wifi_adapter.read_state(device())

    assert (state.device_id, state.model, state.firmware) == (
        found.device_id,
        found.model,
        found.firmware,
    )
    # identify, then the configuration; a second pre-check asks for the identity again.
    assert wifi_fleet[KITCHEN].counters.rpc_calls == {
        "Shelly.GetDeviceInfo": 2,
        "WiFi.GetConfig": 2,
    }
    assert again.model == found.model


async def test_apply_network_stores_the_credentials_on_the_device(wifi_adapter, wifi_fleet) -> None:
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    kitchen = wifi_fleet[KITCHEN]
    assert kitchen.sta == StaConfig(LAB_NETWORK_SSID, LAB_NETWORK_PASSPHRASE, enable=True)
    assert kitchen.counters.wifi_config_writes == 1


async def test_apply_network_twice_with_equal_credentials_writes_once(
    wifi_adapter, wifi_fleet
) -> None:
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    assert wifi_fleet[KITCHEN].counters.wifi_config_writes == 1


async def test_apply_network_replaces_a_rejected_passphrase_for_the_same_network(
    wifi_adapter, wifi_fleet
) -> None:
    await wifi_adapter.apply_network(device(), credentials(WRONG_PASSPHRASE))
    with pytest.raises(CredentialsRejected):
        await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)
    joined = await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    assert joined.ssid == LAB_NETWORK_SSID
    assert wifi_fleet[KITCHEN].counters.wifi_config_writes == 2


async def test_network_status_of_a_joined_device_is_proof_of_join(wifi_adapter, wifi_fleet) -> None:
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    joined = await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    assert joined == NetworkJoin(
        ssid=LAB_NETWORK_SSID, address=wifi_fleet[KITCHEN].sta_ip, signal_dbm=-55
    )


async def test_network_status_while_connecting_is_pending(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].join_delay = 60.0
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    with pytest.raises(NetworkJoinPending) as caught:
        await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    assert_error(caught.value, ErrorCode.NETWORK_JOIN_TIMEOUT, retryable=True)
    assert caught.value.details["status"] == "connecting"


async def test_network_status_of_a_device_that_never_joins_stays_pending(
    wifi_adapter, wifi_fleet
) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(never_joins=True)
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    with pytest.raises(NetworkJoinPending):
        await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)


async def test_network_status_of_a_slow_join_is_pending_then_joined(
    wifi_adapter, wifi_fleet
) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(slow_join=60.0)
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)
    with pytest.raises(NetworkJoinPending):
        await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    wifi_fleet[KITCHEN].faults = DeviceFaults()
    joined = await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    assert joined.ssid == LAB_NETWORK_SSID


async def test_wrong_passphrase_is_credentials_rejected(wifi_adapter) -> None:
    await wifi_adapter.apply_network(device(), credentials(WRONG_PASSPHRASE))

    with pytest.raises(CredentialsRejected) as caught:
        await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    assert_error(caught.value, ErrorCode.CREDENTIALS_REJECTED, retryable=False)
    assert caught.value.details["sta_error"] == "auth_failed"
    assert_no_secret(caught.value, WRONG_PASSPHRASE)


async def test_wrong_passphrase_fault_is_credentials_rejected(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(wrong_passphrase=True)
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    with pytest.raises(CredentialsRejected) as caught:
        await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)

    assert_no_secret(caught.value, LAB_NETWORK_PASSPHRASE)


async def test_network_not_in_range_is_pending_with_no_ap_found(wifi_adapter) -> None:
    await wifi_adapter.apply_network(device(), credentials("some-passphrase", ssid="attic"))

    with pytest.raises(NetworkJoinPending) as caught:
        await wifi_adapter.network_status(device(), "attic")

    assert_error(caught.value, ErrorCode.NETWORK_JOIN_TIMEOUT, retryable=True)
    assert caught.value.details["sta_error"] == "no_ap_found"


async def test_network_status_on_another_network_is_pending(wifi_adapter) -> None:
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    with pytest.raises(NetworkJoinPending) as caught:
        await wifi_adapter.network_status(device(), "attic")

    assert caught.value.details["current_ssid"] == LAB_NETWORK_SSID


async def test_reset_returns_the_device_to_setup_mode(wifi_adapter, wifi_fleet) -> None:
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    await wifi_adapter.reset(device())

    assert wifi_fleet[KITCHEN].in_setup_mode
    assert (await wifi_adapter.read_state(device())).provisioned is False


async def test_reset_of_a_device_in_setup_mode_is_harmless(wifi_adapter, wifi_fleet) -> None:
    await wifi_adapter.reset(device())
    await wifi_adapter.reset(device())

    assert wifi_fleet[KITCHEN].in_setup_mode
    assert wifi_fleet[KITCHEN].counters.factory_resets == 2


async def test_address_hint_overrides_the_template(
    wifi_simulator: RunningSimulator, http_client: httpx.AsyncClient
) -> None:
    adapter = HttpWifiAdapter(http_client, "http://127.0.0.1:9/devices/{device_id}")

    found = await adapter.identify(device(address=wifi_simulator.device_address(KITCHEN)))

    assert found.device_id == KITCHEN


# --- failures ---------------------------------------------------------------------------


async def test_unreachable_device_is_device_unreachable(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(unreachable=True)

    with pytest.raises(DeviceUnreachable) as caught:
        await wifi_adapter.identify(device())

    assert_error(caught.value, ErrorCode.DEVICE_UNREACHABLE, retryable=True)


async def test_nothing_listening_is_device_unreachable(http_client, wifi_simulator) -> None:
    address = wifi_simulator.device_address(KITCHEN)
    await wifi_simulator.close()
    adapter = HttpWifiAdapter(http_client, address)

    with pytest.raises(DeviceUnreachable) as caught:
        await adapter.identify(device())

    assert_error(caught.value, ErrorCode.DEVICE_UNREACHABLE, retryable=True)


async def test_unknown_device_is_device_unreachable(wifi_adapter) -> None:
    with pytest.raises(DeviceUnreachable) as caught:
        await wifi_adapter.identify(device("plug-nowhere"))

    assert_error(caught.value, ErrorCode.DEVICE_UNREACHABLE, retryable=True)
    assert caught.value.details["http_status"] == "404"


async def test_answer_slower_than_the_timeout_is_device_timeout(
    wifi_simulator, http_client, wifi_fleet
) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(latency=0.5)
    adapter = HttpWifiAdapter(
        http_client, f"{wifi_simulator.base_url}/devices/{{device_id}}", timeout=0.1
    )

    with pytest.raises(DeviceTimeout) as caught:
        await adapter.identify(device())

    assert_error(caught.value, ErrorCode.DEVICE_TIMEOUT, retryable=True)


async def test_answer_within_the_timeout_succeeds_despite_latency(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(latency=0.05)

    found = await wifi_adapter.identify(device())

    assert found.device_id == KITCHEN


async def test_busy_device_is_device_busy_with_its_retry_hint(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(busy=1, busy_retry_after=2.0)

    with pytest.raises(DeviceBusy) as caught:
        await wifi_adapter.identify(device())

    assert_error(caught.value, ErrorCode.DEVICE_BUSY, retryable=True)
    assert caught.value.retry_after == 2.0
    assert caught.value.details["rpc_code"] == "-114"


async def test_auth_enabled_device_rejects_the_credentials_write(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].auth_enabled = True

    with pytest.raises(DeviceRejectedRequest) as caught:
        await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    assert_error(caught.value, ErrorCode.DEVICE_REJECTED_REQUEST, retryable=False)
    assert caught.value.details["reason"] == "auth_required"
    assert wifi_fleet[KITCHEN].counters.wifi_config_writes == 0


async def test_auth_enabled_device_rejects_the_reset(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].auth_enabled = True

    with pytest.raises(DeviceRejectedRequest):
        await wifi_adapter.reset(device())

    assert wifi_fleet[KITCHEN].counters.factory_resets == 0


async def test_dropped_answer_after_apply_then_retry_applies_exactly_once(
    wifi_adapter, wifi_fleet
) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(drop_after_apply=1)

    with pytest.raises(DeviceUnreachable) as caught:
        await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    counters = wifi_fleet[KITCHEN].counters
    assert caught.value.retryable
    assert (counters.set_config_calls, counters.wifi_config_writes) == (2, 1)
    assert (await wifi_adapter.network_status(device(), LAB_NETWORK_SSID)).ssid == LAB_NETWORK_SSID
    assert_no_secret(caught.value, LAB_NETWORK_PASSPHRASE)


async def test_garbled_answer_is_a_protocol_error(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(garbled_responses=1)

    with pytest.raises(DeviceProtocolError) as caught:
        await wifi_adapter.identify(device())

    assert_error(caught.value, ErrorCode.DEVICE_PROTOCOL_ERROR, retryable=False)


async def test_server_error_is_a_retryable_protocol_error(wifi_adapter, wifi_fleet) -> None:
    wifi_fleet[KITCHEN].faults = DeviceFaults(server_errors=1)

    with pytest.raises(DeviceProtocolError) as caught:
        await wifi_adapter.identify(device())

    assert_error(caught.value, ErrorCode.DEVICE_PROTOCOL_ERROR, retryable=True)
    assert caught.value.details["http_status"] == "500"


async def test_invalid_argument_is_a_rejected_request(wifi_simulator, http_client) -> None:
    client = ShellyRpcClient(http_client)

    with pytest.raises(DeviceRejectedRequest) as caught:
        await client.call(
            wifi_simulator.device_address(KITCHEN),
            "WiFi.SetConfig",
            {"config": {"sta": {"enable": "yes"}}},
            device_id=KITCHEN,
        )

    assert caught.value.details["rpc_code"] == "-103"


async def test_unknown_method_is_a_protocol_error(wifi_simulator, http_client) -> None:
    client = ShellyRpcClient(http_client)

    with pytest.raises(DeviceProtocolError) as caught:
        await client.call(wifi_simulator.device_address(KITCHEN), "Light.Set", device_id=KITCHEN)

    assert caught.value.details["rpc_code"] == "-105"


async def test_adapter_logs_never_contain_the_passphrase(wifi_adapter, wifi_fleet, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wifi_fleet[KITCHEN].faults = DeviceFaults(drop_after_apply=1)

    with pytest.raises(DeviceUnreachable):
        await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)
    await wifi_adapter.apply_network(device(), LAB_CREDENTIALS)

    assert "WiFi.SetConfig" in caplog.text
    assert LAB_NETWORK_PASSPHRASE not in caplog.text


# --- answers the simulator never gives (a stub device on httpx's mock transport) --------


StubAdapter = Callable[[httpx.Response], HttpWifiAdapter]


@pytest.fixture
async def stub_adapter() -> AsyncIterator[StubAdapter]:
    """Makes adapters talking to a device that always gives the same answer."""
    clients: list[httpx.AsyncClient] = []

    def make(answer: httpx.Response) -> HttpWifiAdapter:
        http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))
        clients.append(http)
        return HttpWifiAdapter(http, "http://device.invalid/devices/{device_id}")

    yield make
    for http in clients:
        await http.aclose()


async def test_result_of_unexpected_shape_is_a_protocol_error(stub_adapter) -> None:
    adapter = stub_adapter(httpx.Response(200, json={"id": 1, "result": {"model": 7}}))

    with pytest.raises(DeviceProtocolError) as caught:
        await adapter.identify(device())

    assert caught.value.details["field"] == "id"


async def test_answer_to_another_request_is_a_protocol_error(stub_adapter) -> None:
    adapter = stub_adapter(httpx.Response(200, json={"id": 99, "result": {}}))

    with pytest.raises(DeviceProtocolError, match="request 99"):
        await adapter.identify(device())


async def test_frame_without_result_or_error_is_a_protocol_error(stub_adapter) -> None:
    adapter = stub_adapter(httpx.Response(200, json={"id": 1}))

    with pytest.raises(DeviceProtocolError):
        await adapter.identify(device())


async def test_device_error_echoing_the_passphrase_is_redacted(stub_adapter) -> None:
    echo = f"Invalid argument: pass '{LAB_NETWORK_PASSPHRASE}' refused"
    adapter = stub_adapter(
        httpx.Response(200, json={"id": 1, "error": {"code": -103, "message": echo}})
    )

    with pytest.raises(DeviceRejectedRequest) as caught:
        await adapter.apply_network(device(), LAB_CREDENTIALS)

    assert_no_secret(caught.value, LAB_NETWORK_PASSPHRASE)
    assert "**********" in caught.value.details["device_message"]
