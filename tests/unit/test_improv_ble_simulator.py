"""The simulated Improv device's state machine, without a radio: time is passed in."""

from __future__ import annotations

import json

import pytest
from improv_ble_client.protocol import (
    DeviceInfoCmd,
    DeviceInfoRes,
    Error,
    IdentifyCmd,
    State,
    WiFiSettingsCmd,
    WiFiSettingsRes,
    parse_result,
)

from simulators.improv_ble import (
    PREVIOUS_NETWORK_SSID,
    ImprovDeviceFaults,
    ImprovDeviceSpec,
    RpcFrameAssembler,
    SimulatedImprovDevice,
)
from simulators.improv_ble.device import DropLink, Notify, Readvertise

NETWORKS = {"devprov-lab": "correct-horse-battery"}
URL = "http://127.0.0.1:8090/_sim/ble/devices/bulb/http"


def bulb(**spec: object) -> SimulatedImprovDevice:
    device = SimulatedImprovDevice(
        ImprovDeviceSpec.model_validate(
            {"device_id": "bulb", "authorization_timeout": 60.0, "join_delay": 2.0, **spec}
        )
    )
    device.redirect_url = URL
    return device


def wifi(passphrase: str = "correct-horse-battery", ssid: str = "devprov-lab") -> bytes:
    return WiFiSettingsCmd(ssid.encode(), passphrase.encode()).as_bytes()


def authorized(**spec: object) -> SimulatedImprovDevice:
    device = bulb(**spec)
    device.press_button(now=0.0)
    device.drain_effects()
    return device


def test_a_device_with_a_button_starts_requiring_authorization() -> None:
    device = bulb()

    assert device.state is State.AUTHORIZATION_REQUIRED
    assert device.service_data() == bytes([State.AUTHORIZATION_REQUIRED, 0b11, 0, 0, 0, 0])


def test_a_device_without_a_button_starts_authorized_and_stays_so() -> None:
    device = bulb(faults={"auto_authorize": True})

    device.tick(now=3600.0, networks=NETWORKS)

    assert device.state is State.AUTHORIZED
    assert device.next_deadline() is None


def test_pressing_the_button_authorizes_and_notifies() -> None:
    device = bulb()

    assert device.press_button(now=0.0) is True

    assert device.state is State.AUTHORIZED
    assert device.drain_effects() == [Notify("state", bytes([State.AUTHORIZED])), Readvertise()]
    assert device.counters.button_presses == 1


def test_an_authorization_expires_back_to_requiring_it() -> None:
    device = authorized()

    device.tick(now=59.9, networks=NETWORKS)
    assert device.next_deadline() == 60.0
    device.tick(now=60.0, networks=NETWORKS)

    assert device.state is State.AUTHORIZATION_REQUIRED
    assert device.counters.authorizations_expired == 1


def test_a_device_that_never_authorizes_ignores_its_button() -> None:
    device = bulb(faults={"never_authorizes": True})

    assert device.press_button(now=0.0) is False

    assert device.state is State.AUTHORIZATION_REQUIRED
    assert device.counters.button_presses_ignored == 1


def test_credentials_before_authorization_are_refused() -> None:
    device = bulb()

    device.handle_rpc(wifi(), now=0.0)

    assert device.state is State.AUTHORIZATION_REQUIRED
    assert device.error is Error.NOT_AUTHORIZED
    assert device.counters.credentials_received == 1
    assert device.counters.provision_attempts == 0


def test_credentials_start_provisioning_and_the_join_reports_the_redirect_url() -> None:
    device = authorized()

    device.handle_rpc(wifi(), now=1.0)
    assert device.service_data()[0] == State.PROVISIONING
    assert device.next_deadline() == 3.0
    device.drain_effects()
    device.tick(now=3.0, networks=NETWORKS)

    assert device.state is State.PROVISIONED
    effects = device.drain_effects()
    assert Notify("state", bytes([State.PROVISIONED])) in effects
    result = parse_result(device.rpc_result)
    assert isinstance(result, WiFiSettingsRes)
    assert result.redirect_url == URL.encode()
    assert device.web_page() is not None
    assert device.counters.provisions_succeeded == 1


def test_a_wrong_passphrase_is_unable_to_connect_and_authorization_restarts() -> None:
    device = authorized()

    device.handle_rpc(wifi("not-the-passphrase"), now=30.0)
    device.tick(now=32.0, networks=NETWORKS)

    assert (device.state, device.error) == (State.AUTHORIZED, Error.UNABLE_TO_CONNECT)
    assert device.authorized_until == 92.0
    assert device.web_page() is None
    assert device.counters.join_failures == 1


def test_an_unknown_network_is_unable_to_connect() -> None:
    device = authorized()

    device.handle_rpc(wifi(ssid="elsewhere"), now=0.0)
    device.tick(now=2.0, networks=NETWORKS)

    assert device.error is Error.UNABLE_TO_CONNECT


def test_a_new_command_clears_the_previous_error() -> None:
    device = authorized()
    device.handle_rpc(wifi("not-the-passphrase"), now=0.0)
    device.tick(now=2.0, networks=NETWORKS)

    device.handle_rpc(wifi(), now=3.0)

    assert (device.state, device.error) == (State.PROVISIONING, Error.NO_ERROR)


def test_a_device_that_never_reports_joins_but_stays_provisioning() -> None:
    device = authorized(faults={"never_reports": True})

    device.handle_rpc(wifi(), now=0.0)
    device.tick(now=2.0, networks=NETWORKS)

    assert device.state is State.PROVISIONING
    assert device.rpc_result == b""
    assert device.web_page() is not None


def test_dropping_the_link_mid_provision_comes_first_and_is_used_up() -> None:
    device = authorized(faults={"drop_link_mid_provision": 1})

    device.handle_rpc(wifi(), now=0.0)

    assert device.drain_effects()[0] == DropLink()
    assert device.faults.drop_link_mid_provision == 0
    assert device.state is State.PROVISIONING
    assert device.counters.link_drops == 1


def test_credentials_while_provisioning_are_refused() -> None:
    device = authorized()
    device.handle_rpc(wifi(), now=0.0)

    device.handle_rpc(wifi(), now=0.5)

    assert device.error is Error.UNKNOWN_ERROR
    assert device.counters.provision_attempts == 1


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"\x01\x02\x00", Error.INVALID_RPC_PACKET),
        (wifi()[:-1] + b"\x00", Error.INVALID_RPC_PACKET),
        (bytes([0x42, 0x00, 0x42]), Error.UNKNOWN_RPC_COMMAND),
    ],
)
def test_malformed_and_unknown_commands_set_the_error(frame: bytes, error: Error) -> None:
    device = authorized()

    device.handle_rpc(frame, now=0.0)

    assert device.error is error
    assert device.counters.rpc_errors == {error.name: 1}


def test_identify_is_counted() -> None:
    device = bulb()

    device.handle_rpc(IdentifyCmd().as_bytes(), now=0.0)

    assert device.counters.identifies == 1
    assert device.error is Error.NO_ERROR


def test_device_info_is_returned_as_an_rpc_result() -> None:
    device = bulb(friendly_name="Porch light")

    device.handle_rpc(DeviceInfoCmd().as_bytes(), now=0.0)

    result = parse_result(device.rpc_result)
    assert isinstance(result, DeviceInfoRes)
    assert result.device_name == b"Porch light"


def test_an_already_provisioned_device_is_on_its_previous_network() -> None:
    device = bulb(faults={"already_provisioned": True})

    assert device.state is State.PROVISIONED
    assert device.wifi.ssid == PREVIOUS_NETWORK_SSID
    assert device.service_data()[0] == State.PROVISIONED


def test_setting_auto_authorize_authorizes_at_once() -> None:
    device = bulb()

    device.set_faults(ImprovDeviceFaults(auto_authorize=True), now=0.0)

    assert device.state is State.AUTHORIZED
    assert device.authorized_until is None


def test_restore_brings_back_the_initial_state_knobs_and_counters() -> None:
    device = authorized(faults={"drop_link_mid_provision": 2})
    device.handle_rpc(wifi(), now=0.0)
    device.tick(now=2.0, networks=NETWORKS)

    device.restore(now=3.0)

    assert device.state is State.AUTHORIZATION_REQUIRED
    assert device.faults.drop_link_mid_provision == 2
    assert device.counters.provision_attempts == 0
    assert device.web_page() is None


def test_a_factory_reset_forgets_the_network() -> None:
    device = authorized()
    device.handle_rpc(wifi(), now=0.0)
    device.tick(now=2.0, networks=NETWORKS)

    device.factory_reset(now=3.0)

    assert device.state is State.AUTHORIZATION_REQUIRED
    assert device.wifi.ssid is None
    assert device.counters.factory_resets == 1


def test_the_snapshot_never_shows_the_passphrase() -> None:
    device = authorized()
    device.handle_rpc(wifi("correct-horse-battery"), now=0.0)

    snapshot = json.dumps(device.snapshot(now=1.0, address="C0:00:00:00:00:01"))

    assert "correct-horse-battery" not in snapshot
    assert "devprov-lab" in snapshot
    assert "correct-horse-battery" not in repr(device.wifi)


def test_frames_split_over_several_writes_are_joined() -> None:
    assembler = RpcFrameAssembler()
    frame = wifi()

    assert assembler.feed(frame[:20]) == []
    assert assembler.feed(frame[20:] + IdentifyCmd().as_bytes()) == [
        frame,
        IdentifyCmd().as_bytes(),
    ]


def test_a_person_standing_by_presses_the_button_after_a_gateway_connects() -> None:
    device = bulb(faults={"person_presses_after": 3.0})

    device.record_connection("C0:00:00:00:00:01", now=10.0)
    assert device.next_deadline() == 13.0
    device.tick(now=13.0, networks=NETWORKS)

    assert device.state is State.AUTHORIZED
    assert device.counters.button_presses == 1
