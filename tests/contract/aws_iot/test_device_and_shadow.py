"""The device keeps its key, sends a CSR, receives its certificate and reports its
network to its thing shadow; devprov confirms from the shadow."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from types_aiobotocore_iot_data import IoTDataPlaneClient

from adapters.aws_iot import AwsIotAdapter
from simulators.aws_iot import NotJoined, SimulatedAwsIotDevice
from simulators.http_wifi.device import JoinStatus, WifiStatus
from tests.contract.aws_iot.helpers import DEVICE_ID, registration_request

JOINED_HOME = WifiStatus(JoinStatus.GOT_IP, ssid="home-2g", sta_ip="10.77.0.7", rssi=-55)


def test_the_csr_names_the_device_and_keeps_the_key_on_the_device(
    device: SimulatedAwsIotDevice,
) -> None:
    csr = x509.load_pem_x509_csr(device.certificate_signing_request().encode())

    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEVICE_ID
    assert "PRIVATE KEY" not in device.certificate_signing_request()
    assert "has_key=True" in repr(device)
    assert "BEGIN" not in repr(device)


def test_a_retried_step_gets_a_csr_for_the_same_key(device: SimulatedAwsIotDevice) -> None:
    first = x509.load_pem_x509_csr(device.certificate_signing_request().encode())
    again = x509.load_pem_x509_csr(device.certificate_signing_request().encode())

    assert first.public_key() == again.public_key()


def test_a_factory_reset_device_makes_a_new_key(device: SimulatedAwsIotDevice) -> None:
    before = x509.load_pem_x509_csr(device.certificate_signing_request().encode())
    device.factory_reset()
    after = x509.load_pem_x509_csr(device.certificate_signing_request().encode())

    assert before.public_key() != after.public_key()


def test_the_device_refuses_what_is_not_a_certificate(device: SimulatedAwsIotDevice) -> None:
    device.certificate_signing_request()

    with pytest.raises(ValueError, match="certificate"):
        device.receive_certificate("-----BEGIN CERTIFICATE-----\nnot one\n")
    assert not device.has_certificate


def test_a_device_not_yet_on_its_network_has_nothing_to_report() -> None:
    with pytest.raises(NotJoined):
        SimulatedAwsIotDevice.shadow_document(WifiStatus(JoinStatus.CONNECTING, ssid="home-2g"))


async def test_an_unregistered_device_cannot_report(
    device: SimulatedAwsIotDevice, moto_iot_data: IoTDataPlaneClient
) -> None:
    with pytest.raises(ValueError, match="certificate"):
        await device.report_network(moto_iot_data, JOINED_HOME)


async def test_confirmation_follows_what_the_device_reports_to_its_shadow(
    aws_adapter: AwsIotAdapter,
    moto_iot_data: IoTDataPlaneClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    registration = await aws_adapter.register_thing(registration_request(device))
    device.receive_certificate(registration.certificate_pem)
    before = await aws_adapter.confirm_network(DEVICE_ID, "home-2g")

    version = await device.report_network(moto_iot_data, JOINED_HOME)
    on_expected = await aws_adapter.confirm_network(DEVICE_ID, "home-2g")
    on_other = await aws_adapter.confirm_network(DEVICE_ID, "office")

    assert not before.reported
    assert not before.on_expected_network
    assert on_expected.reported
    assert on_expected.on_expected_network
    assert on_expected.ssid == "home-2g"
    assert on_expected.shadow_version == version
    assert on_other.reported
    assert not on_other.on_expected_network


async def test_a_shadow_without_a_network_is_not_a_confirmation(
    aws_adapter: AwsIotAdapter,
    moto_iot_data: IoTDataPlaneClient,
    tenant_policy: str,
    device: SimulatedAwsIotDevice,
) -> None:
    await aws_adapter.register_thing(registration_request(device))
    await moto_iot_data.update_thing_shadow(
        thingName=DEVICE_ID, payload=b'{"state": {"reported": {"firmware": "1.4.2"}}}'
    )

    report = await aws_adapter.confirm_network(DEVICE_ID, "home-2g")

    assert not report.reported
    assert not report.on_expected_network


async def test_confirming_an_unknown_thing_says_not_reported(aws_adapter: AwsIotAdapter) -> None:
    report = await aws_adapter.confirm_network("no-such-thing", "home-2g")

    assert not report.reported
