"""The ESP-IDF provisioning activities, run in Temporal's `ActivityEnvironment` with the
real adapter over the virtual BLE link and a simulated ESP32; the request's secrets
travel as they will in a run (JSON through the activity's input model)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.esp_prov_ble import EspProvBleActivities
from adapters.ble import BleStack, VirtualBleRadio
from adapters.errors import AdapterError
from adapters.esp_prov import SESSION_AUTH_FAILED, EspProvBleAdapter, EspProvTimeouts
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.requests import NetworkCredentials, ProvisionRequest
from simulators.esp_prov import EspDeviceFleet, EspDeviceSpec, Station
from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from strategies.esp_prov_ble import (
    PASSWORD_SECRET,
    POP_SECRET,
    SECURITY_0,
    SECURITY_1,
    SECURITY_2,
    EspNetworkAssignment,
    EspProvBleStrategy,
    EspTarget,
    security_for,
)

PLUG = "esp-plug"
PASSWORD = "abcd1234"
HOST_QUEUE = "edge.local.gw1"
LAB = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr(LAB_NETWORK_PASSPHRASE))


def request(**secrets: str) -> ProvisionRequest:
    return ProvisionRequest(
        device=DeviceDescriptor(
            device_id=PLUG,
            type="wifi-plug",
            vendor="espressif",
            capabilities=frozenset({"ble", "esp-prov", "wifi"}),
        ),
        network=LAB,
        secrets={name: SecretStr(value) for name, value in secrets.items()},
    )


def target(**secrets: str) -> EspTarget:
    """As the workflow will build it, after a trip through JSON (the data converter)."""
    made = EspTarget(device=request().device, security=security_for(request(**secrets)))
    return EspTarget.model_validate_json(made.model_dump_json())


@pytest.fixture
async def esp_fleet(ble_radio: VirtualBleRadio) -> AsyncIterator[EspDeviceFleet]:
    spec = EspDeviceSpec(device_id=PLUG, secret=PASSWORD, join_delay=0.05)
    async with EspDeviceFleet(ble_radio, [spec]) as fleet:
        yield fleet


@pytest.fixture
def activities(ble_stack: BleStack) -> EspProvBleActivities:
    adapter = EspProvBleAdapter(
        ble_stack, scan_timeout=0.5, timeouts=EspProvTimeouts(1.0, 1.0), poll_every=0.05
    )
    return EspProvBleActivities(adapter, host_task_queue=HOST_QUEUE)


def test_the_request_secrets_choose_the_security_scheme() -> None:
    assert security_for(request(**{PASSWORD_SECRET: "pw"})).scheme == SECURITY_2
    assert security_for(request(**{POP_SECRET: "pop"})).scheme == SECURITY_1
    assert security_for(request()).scheme == SECURITY_0
    assert "pw" not in repr(security_for(request(**{PASSWORD_SECRET: "pw"})))


async def test_detect_pins_the_run_to_the_gateway_that_heard_the_device(
    activities, esp_fleet
) -> None:
    found = await ActivityEnvironment().run(activities.detect, request().device)

    assert found.task_queue == HOST_QUEUE


async def test_the_pre_check_opens_the_session_and_passes_a_fresh_device(
    activities, esp_fleet
) -> None:
    check = await ActivityEnvironment().run(
        activities.check_session, target(**{PASSWORD_SECRET: PASSWORD})
    )

    assert (check.security, check.station_state) == (SECURITY_2, "disconnected")
    assert EspProvBleStrategy().pre_check(request().device, check).passed
    assert EspProvBleStrategy.can_reset(check)


async def test_a_wrong_password_fails_the_pre_check_activity(activities, esp_fleet) -> None:
    with pytest.raises(AdapterError) as caught:
        await ActivityEnvironment().run(
            activities.check_session, target(**{PASSWORD_SECRET: "wrong"})
        )

    assert caught.value.code == SESSION_AUTH_FAILED
    assert caught.value.retryable is False


async def test_provision_and_confirm_then_the_pre_check_refuses_to_provision_again(
    activities, esp_fleet
) -> None:
    assignment = EspNetworkAssignment(target=target(**{PASSWORD_SECRET: PASSWORD}), network=LAB)
    env = ActivityEnvironment()

    await env.run(activities.send_wifi_config, assignment)
    confirmed = await env.run(activities.confirm_joined, assignment)
    # Sent again (an activity's retry): the joined device is left as it is.
    await env.run(activities.send_wifi_config, assignment)
    check = await env.run(activities.check_session, assignment.target)

    assert confirmed.address == esp_fleet[PLUG].ip_address
    assert esp_fleet[PLUG].counters.configs_applied == 1
    verdict = EspProvBleStrategy().pre_check(request().device, check)
    assert not verdict.passed
    assert "already connected" in verdict.reasons[0]


async def test_a_refused_passphrase_is_found_while_confirming_and_reset_undoes_it(
    activities, esp_fleet
) -> None:
    env = ActivityEnvironment()
    wrong = NetworkCredentials(ssid=LAB_NETWORK_SSID, passphrase=SecretStr("not-the-lab-pass"))
    assignment = EspNetworkAssignment(target=target(**{PASSWORD_SECRET: PASSWORD}), network=wrong)
    await env.run(activities.send_wifi_config, assignment)

    with pytest.raises(AdapterError) as rejected:
        await env.run(activities.confirm_joined, assignment)
    assert rejected.value.code is ErrorCode.CREDENTIALS_REJECTED

    await env.run(activities.reset_wifi, assignment.target)
    assert esp_fleet[PLUG].station is Station.IDLE
