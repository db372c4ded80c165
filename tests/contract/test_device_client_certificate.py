"""Contract of `HttpWifiAdapter` as a `ClientCertificatePort` against the HTTP Wi-Fi
simulator: the device makes its own key and answers a CSR, then stores the certificate
signed from it. What the device holds is read from the simulated device itself."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.errors import DeviceProtocolError, DeviceRejectedRequest
from adapters.http_wifi import HttpWifiAdapter
from adapters.http_wifi.port import ClientCertificatePort
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from simulators.aws_iot import SimulatedAwsIotDevice
from simulators.http_wifi import WifiDeviceFleet
from tests.contract.assertions import assert_error

KITCHEN = "plug-kitchen"
NO_IDENTITY = "pro4-lab"


def device(device_id: str = KITCHEN) -> DeviceDescriptor:
    return DeviceDescriptor(
        device_id=device_id,
        type="wifi-relay",
        vendor="shelly",
        capabilities=frozenset({"wifi", "http-rpc", "aws-iot"}),
    )


@pytest.fixture
def identity(wifi_fleet: WifiDeviceFleet) -> SimulatedAwsIotDevice:
    """The kitchen plug's own key and certificate store (the Pro 4 has none)."""
    held = SimulatedAwsIotDevice(KITCHEN)
    wifi_fleet[KITCHEN].client_identity = held
    return held


def public_key_of(csr_pem: str) -> bytes:
    return (
        x509.load_pem_x509_csr(csr_pem.encode())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def signed_from(csr_pem: str) -> str:
    """A certificate for the CSR's key, signed by a throw-away CA (as a cloud would)."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_adapter_implements_the_client_certificate_port(wifi_adapter: HttpWifiAdapter) -> None:
    port: ClientCertificatePort = wifi_adapter

    assert port is wifi_adapter


async def test_the_device_answers_a_csr_for_a_key_it_keeps(
    wifi_adapter: HttpWifiAdapter, wifi_fleet: WifiDeviceFleet, identity: SimulatedAwsIotDevice
) -> None:
    first = await wifi_adapter.certificate_signing_request(device())
    again = await wifi_adapter.certificate_signing_request(device())

    assert public_key_of(first) == public_key_of(again)
    subject = x509.load_pem_x509_csr(first.encode()).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == KITCHEN
    assert wifi_fleet[KITCHEN].counters.rpc_calls["Shelly.GetTLSClientCSR"] == 2


async def test_the_certificate_signed_from_its_csr_is_stored_on_the_device(
    wifi_adapter: HttpWifiAdapter, identity: SimulatedAwsIotDevice
) -> None:
    csr = await wifi_adapter.certificate_signing_request(device())

    await wifi_adapter.install_client_certificate(device(), signed_from(csr))
    await wifi_adapter.install_client_certificate(device(), signed_from(csr))

    assert identity.has_certificate
    assert identity.certificate_matches_key


async def test_a_factory_reset_makes_the_device_forget_its_key_and_certificate(
    wifi_adapter: HttpWifiAdapter, identity: SimulatedAwsIotDevice
) -> None:
    before = await wifi_adapter.certificate_signing_request(device())
    await wifi_adapter.install_client_certificate(device(), signed_from(before))

    await wifi_adapter.reset(device())

    assert not identity.has_certificate
    after = await wifi_adapter.certificate_signing_request(device())
    assert public_key_of(after) != public_key_of(before)


async def test_a_device_without_a_client_identity_has_no_csr_to_give(
    wifi_adapter: HttpWifiAdapter,
) -> None:
    with pytest.raises(DeviceProtocolError) as caught:
        await wifi_adapter.certificate_signing_request(device(NO_IDENTITY))

    assert_error(caught.value, ErrorCode.DEVICE_PROTOCOL_ERROR, retryable=False)
    assert caught.value.details["rpc_code"] == "-105"


async def test_something_that_is_not_a_certificate_is_refused_by_the_device(
    wifi_adapter: HttpWifiAdapter, identity: SimulatedAwsIotDevice
) -> None:
    await wifi_adapter.certificate_signing_request(device())

    with pytest.raises(DeviceRejectedRequest) as caught:
        await wifi_adapter.install_client_certificate(device(), "-----BEGIN NOTHING-----")

    assert_error(caught.value, ErrorCode.DEVICE_REJECTED_REQUEST, retryable=False)
    assert caught.value.details["rpc_code"] == "-103"
    assert not identity.has_certificate
