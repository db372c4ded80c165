"""ESP-IDF provisioning without a radio: endpoint UUIDs, version documents, the session
ciphers, and both security handshakes against the simulated device's protocol."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.esp_prov import EspSecurity, protocol
from adapters.esp_prov.protocol import Endpoint, SecurityScheme, StationState, VersionInfo
from adapters.esp_prov.security import (
    GcmCipher,
    ProofRejected,
    Security1Handshake,
    Security2Handshake,
    SecurityHandshake,
    SessionCipher,
    sec1_key,
)
from simulators.esp_prov import EspDeviceFaults, EspDeviceSpec, RequestRefused, SimulatedEspDevice
from simulators.esp_prov.device import Station

KEY = bytes(range(32))
NONCE = bytes.fromhex("0102030405060708") + (1).to_bytes(4, "big")
CONNECTION = 0x40


def test_endpoint_uuids_are_derived_from_the_service_uuid_as_esp_idf_does() -> None:
    # wifi_provisioning's default BLE service UUID (scheme_ble.c, bytes LSB first:
    # 07 ed 9b 2d 0f 06 7c 87 9b 43 43 6b 4d 24 75 17); prov-session is 0xFF51.
    service = "1775244d-6b43-439b-877c-060f2d9bed07"

    assert protocol.endpoint_uuid(service, Endpoint.SESSION.short_uuid) == (
        "1775ff51-6b43-439b-877c-060f2d9bed07"
    )
    assert protocol.endpoint_uuid(service, Endpoint.CTRL.short_uuid).startswith("1775ff4f-")


def test_the_version_document_of_the_provisioning_manager_is_read() -> None:
    document = (
        b'{"my_app":{"ver":"1.2","cap":["custom"]},'
        b'"prov":{"ver":"v1.1","sec_ver":2,"sec_patch_ver":1,"cap":["wifi_scan","no_pop"]}}'
    )

    version = VersionInfo.parse(document)

    assert version.version == "v1.1"
    assert version.security is SecurityScheme.SEC2
    assert version.security_patch == 1
    assert version.capabilities == ("wifi_scan", "no_pop")
    assert version.applications == {"my_app": {"ver": "1.2", "cap": ["custom"]}}


def test_a_bare_version_string_of_old_firmware_is_accepted() -> None:
    assert VersionInfo.parse(b"V0.1") == VersionInfo(version="V0.1", security=None)


@pytest.mark.parametrize("document", [b'{"prov": 3}', b"[]", b'{"prov":{"sec_ver":9}}', b""])
def test_malformed_version_documents_are_refused(document: bytes) -> None:
    with pytest.raises(ValueError, match=r"proto-ver|security scheme"):
        VersionInfo.parse(document)


def test_the_gcm_nonce_counts_up_with_every_message() -> None:
    cipher = GcmCipher(KEY, NONCE)

    first = cipher.encrypt(b"same")
    second = cipher.encrypt(b"same")

    reference = AESGCM(KEY)
    assert first == reference.encrypt(NONCE, b"same", None)
    assert second == reference.encrypt(NONCE[:8] + (2).to_bytes(4, "big"), b"same", None)


def test_client_and_device_ciphers_stay_in_step_over_requests_and_responses() -> None:
    client, device = GcmCipher(KEY, NONCE), GcmCipher(KEY, NONCE)

    for n in range(3):
        assert device.decrypt(client.encrypt(f"request {n}".encode())) == f"request {n}".encode()
        assert client.decrypt(device.encrypt(f"answer {n}".encode())) == f"answer {n}".encode()


def test_a_message_sealed_out_of_step_does_not_decrypt() -> None:
    client, device = GcmCipher(KEY, NONCE), GcmCipher(KEY, NONCE)
    client.encrypt(b"lost on the way")

    with pytest.raises(InvalidTag):
        device.decrypt(client.encrypt(b"next"))


def test_security_patch_0_keeps_the_nonce() -> None:
    cipher = GcmCipher(KEY, NONCE, counting=False)

    assert cipher.encrypt(b"x") == cipher.encrypt(b"x")


def test_the_security_1_key_is_the_shared_secret_xored_with_the_pops_hash() -> None:
    shared = bytes(32)

    assert sec1_key(shared, None) == shared
    assert sec1_key(shared, "abcd") == bytes.fromhex(
        "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
    )


# --- handshakes against the simulated device's protocol (no BLE) ----------------------


def handshake_with(device: SimulatedEspDevice, handshake: SecurityHandshake) -> SessionCipher:
    device.connected(CONNECTION)
    answer0 = device.handle(CONNECTION, Endpoint.SESSION, handshake.command0(), 0.0)
    answer1 = device.handle(CONNECTION, Endpoint.SESSION, handshake.command1(answer0), 0.0)
    return handshake.finish(answer1)


def sec2_device(**faults: bool) -> SimulatedEspDevice:
    return SimulatedEspDevice(
        EspDeviceSpec("esp", secret="abcd1234", join_delay=1.0, faults=EspDeviceFaults(**faults))
    )


def test_a_security_2_session_carries_encrypted_wifi_config() -> None:
    device = sec2_device()
    device.networks = {"home": "correct-horse"}
    cipher = handshake_with(device, Security2Handshake("wifiprov", "abcd1234"))

    def call(request: bytes, now: float) -> bytes:
        sealed = cipher.encrypt(request)
        assert b"correct-horse" not in sealed
        return cipher.decrypt(device.handle(CONNECTION, Endpoint.CONFIG, sealed, now))

    protocol.parse_set_config_response(
        call(protocol.set_config_request("home", "correct-horse"), 0)
    )
    protocol.parse_apply_config_response(call(protocol.apply_config_request(), 0))
    joining = protocol.parse_status_response(call(protocol.get_status_request(), 0.5))
    joined = protocol.parse_status_response(call(protocol.get_status_request(), 1.0))

    assert joining.state is StationState.CONNECTING
    assert (joined.state, joined.ssid, joined.ip_address) == (
        StationState.CONNECTED,
        "home",
        device.ip_address,
    )


def test_the_device_refuses_a_wrong_srp_password_at_command_1() -> None:
    device = sec2_device()

    with pytest.raises(RequestRefused, match="proof"):
        handshake_with(device, Security2Handshake("wifiprov", "wrong"))
    assert device.counters.session_auth_failures == 1


def test_the_client_refuses_a_device_that_proves_nothing() -> None:
    handshake = Security2Handshake("wifiprov", "abcd1234")
    device = sec2_device()
    device.connected(CONNECTION)
    answer0 = device.handle(CONNECTION, Endpoint.SESSION, handshake.command0(), 0.0)
    answer1 = device.handle(CONNECTION, Endpoint.SESSION, handshake.command1(answer0), 0.0)
    forged = bytearray(answer1)
    forged[-20] ^= 0xFF  # inside the device's proof (the nonce is the last 12 bytes)

    with pytest.raises(ProofRejected, match="proof does not match"):
        handshake.finish(bytes(forged))


def test_a_security_1_session_with_and_without_the_right_pop() -> None:
    device = SimulatedEspDevice(EspDeviceSpec("lamp", security=SecurityScheme.SEC1, secret="pop"))

    cipher = handshake_with(device, Security1Handshake("pop"))
    answer = cipher.decrypt(
        device.handle(
            CONNECTION, Endpoint.CONFIG, cipher.encrypt(protocol.get_status_request()), 0.0
        )
    )
    assert protocol.parse_status_response(answer).state is StationState.DISCONNECTED

    with pytest.raises(RequestRefused):
        handshake_with(device, Security1Handshake("not-the-pop"))


def test_requests_before_a_session_are_refused() -> None:
    device = sec2_device()
    device.connected(CONNECTION)

    with pytest.raises(RequestRefused, match="before a secure session"):
        device.handle(CONNECTION, Endpoint.CONFIG, protocol.get_status_request(), 0.0)


def test_a_station_that_never_connects_stays_connecting() -> None:
    device = sec2_device(never_connects=True)
    device.networks = {"home": "pw"}
    cipher = handshake_with(device, Security2Handshake("wifiprov", "abcd1234"))
    for request in (protocol.set_config_request("home", "pw"), protocol.apply_config_request()):
        cipher.decrypt(device.handle(CONNECTION, Endpoint.CONFIG, cipher.encrypt(request), 0.0))

    device.tick(3600.0)

    assert device.station is Station.CONNECTING


def test_a_device_whose_secret_changed_refuses_every_session() -> None:
    device = sec2_device(refuse_sessions=True)

    with pytest.raises(RequestRefused):
        handshake_with(device, Security2Handshake("wifiprov", "abcd1234"))
    assert device.counters.sessions_established == 0


def test_a_security_0_device_answers_in_plain_text_without_a_handshake() -> None:
    device = SimulatedEspDevice(EspDeviceSpec("open", security=SecurityScheme.SEC0))
    device.connected(CONNECTION)

    answer = device.handle(CONNECTION, Endpoint.CONFIG, protocol.get_status_request(), 0.0)

    assert protocol.parse_status_response(answer).state is StationState.DISCONNECTED
    assert device.version.capabilities[0] == "no_sec"


def test_the_security_secret_never_shows_in_a_repr() -> None:
    assert "abcd1234" not in repr(EspSecurity.sec2("wifiprov", "abcd1234"))
    assert "abcd1234" not in repr(EspDeviceSpec("esp", secret="abcd1234"))
