"""Pre-check rules of the HTTP Wi-Fi strategy."""

from __future__ import annotations

from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from strategies.http_wifi import HttpWifiStrategy

REQUESTED = DeviceDescriptor(
    device_id="shelly-1",
    type="wifi-relay",
    vendor="shelly",
    model="SNSW-001X16EU",
    capabilities=frozenset({"wifi", "http-rpc"}),
)


def found(**overrides: object) -> DetectedDevice:
    fields: dict[str, object] = {
        "device_id": "shelly-1",
        "model": "SNSW-001X16EU",
        "firmware": "1.4.2",
    }
    fields.update(overrides)
    return DetectedDevice.model_validate(fields)


def test_device_in_set_up_mode_passes() -> None:
    assert HttpWifiStrategy().pre_check(REQUESTED, found()).passed


def test_another_device_answering_is_rejected() -> None:
    verdict = HttpWifiStrategy().pre_check(REQUESTED, found(device_id="shelly-2"))

    assert verdict.reasons == ["the device answering is 'shelly-2', not 'shelly-1'"]


def test_old_firmware_is_rejected() -> None:
    verdict = HttpWifiStrategy(minimum_firmware="1.2.0").pre_check(
        REQUESTED, found(firmware="1.1.9")
    )

    assert verdict.reasons == ["firmware 1.1.9 is older than the minimum 1.2.0"]


def test_already_provisioned_device_is_reported_not_reprovisioned() -> None:
    verdict = HttpWifiStrategy().pre_check(REQUESTED, found(provisioned=True, network_ssid="home"))

    assert not verdict.passed
    assert "already provisioned for network 'home'" in verdict.reasons[0]


def test_device_with_authentication_on_is_not_in_set_up_mode() -> None:
    verdict = HttpWifiStrategy().pre_check(REQUESTED, found(attributes={"auth_enabled": "true"}))

    assert verdict.reasons == ["device has authentication enabled: it is not in set-up mode"]


def test_model_mismatch_is_rejected() -> None:
    verdict = HttpWifiStrategy().pre_check(REQUESTED, found(model="SPSW-004PE16EU"))

    assert verdict.reasons == ["model is 'SPSW-004PE16EU', the request says 'SNSW-001X16EU'"]
