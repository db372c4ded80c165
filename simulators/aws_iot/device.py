"""The device side of AWS IoT registration: its own key, its CSR, its certificate, its shadow.

A real device makes its key pair (in a secure element when it has one) and only the
certificate signing request leaves it; AWS signs it and the device receives the
certificate. This simulated device does the same: its private key stays in this object,
is never returned, logged or shown in its repr.

Once it has joined its Wi-Fi network, a real device connects to AWS IoT over MQTT with
mutual TLS and updates its thing shadow. The local AWS API has no MQTT and no mutual TLS,
so the simulated device updates its shadow over the data plane's HTTPS API
(`UpdateThingShadow`) with the caller's credentials: it proves the registration, not that
the certificate connects.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from domain.aws_iot import SHADOW_NETWORK_KEY
from simulators.http_wifi.device import JoinStatus, WifiStatus

if TYPE_CHECKING:
    from types_aiobotocore_iot_data import IoTDataPlaneClient


class NotJoined(Exception):
    """The device has not joined a network: it has nothing to report yet."""


def _public_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class SimulatedAwsIotDevice:
    """One device registering with AWS IoT Core; see the module docstring."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._certificate: x509.Certificate | None = None

    def __repr__(self) -> str:
        return (
            f"SimulatedAwsIotDevice(device_id={self.device_id!r}, "
            f"has_key={self._key is not None}, has_certificate={self.has_certificate})"
        )

    def certificate_signing_request(self) -> str:
        """A PEM CSR for the device's key, made on the first call and kept after.

        Asking again (a retried step) gives a CSR for the same key. The subject names the
        device (CN) and the key's fingerprint (serialNumber), so a certificate that keeps
        the subject is tied to this key.
        """
        if self._key is None:
            self._key = ec.generate_private_key(ec.SECP256R1())
        fingerprint = hashlib.sha256(_public_der(self._key.public_key())).hexdigest()[:32]
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, self.device_id),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, fingerprint),
            ]
        )
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(subject)
            .sign(self._key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def receive_certificate(self, certificate_pem: str) -> None:
        """Keep the certificate AWS issued; `ValueError` if it is not a PEM certificate."""
        if self._key is None:
            raise ValueError("the device has made no key: ask for its CSR first")
        try:
            self._certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        except ValueError as error:
            raise ValueError("not a PEM X.509 certificate") from error

    @property
    def has_certificate(self) -> bool:
        """Whether the device holds a certificate."""
        return self._certificate is not None

    @property
    def certificate_fingerprint(self) -> str | None:
        """SHA-256 of the held certificate (hex), to tell one certificate from another."""
        if self._certificate is None:
            return None
        return self._certificate.fingerprint(hashes.SHA256()).hex()

    @property
    def certificate_matches_key(self) -> bool:
        """Whether the certificate carries the device's public key.

        True with AWS, which signs the CSR's key; False with moto's server, which signs a
        key of its own and keeps only the CSR's subject.
        """
        if self._certificate is None or self._key is None:
            return False
        certificate_key = self._certificate.public_key()
        if not isinstance(certificate_key, ec.EllipticCurvePublicKey):
            return False
        return _public_der(certificate_key) == _public_der(self._key.public_key())

    def factory_reset(self) -> None:
        """Forget the key and the certificate; the next CSR is for a new key."""
        self._key = None
        self._certificate = None

    @staticmethod
    def shadow_document(status: WifiStatus) -> dict[str, object]:
        """The shadow update that reports a joined network (`NotJoined` otherwise)."""
        if status.status is not JoinStatus.GOT_IP or not status.ssid:
            raise NotJoined(f"the device's Wi-Fi is {status.status.value!r}")
        return {
            "state": {
                "reported": {
                    SHADOW_NETWORK_KEY: {
                        "ssid": status.ssid,
                        "connected": True,
                        "ip": status.sta_ip,
                    }
                }
            }
        }

    async def report_network(self, iot_data: IoTDataPlaneClient, status: WifiStatus) -> int:
        """Report the joined network to the thing shadow (`UpdateThingShadow`).

        Returns the shadow's new version. Raises `NotJoined` before the device has an IP
        address, and `ValueError` before it holds a certificate.
        """
        if not self.has_certificate:
            raise ValueError("the device holds no certificate: it is not registered")
        document = self.shadow_document(status)
        answer = await iot_data.update_thing_shadow(
            thingName=self.device_id, payload=json.dumps(document).encode()
        )
        async with answer["payload"] as stream:
            body = json.loads(await stream.read())
        version = body.get("version") if isinstance(body, dict) else None
        return version if isinstance(version, int) else 0
