"""The device side of the simulated cloud: the signed check-in a device sends once online.

A real device connects with mutual TLS using the key it generated and the certificate the
cloud issued. The simulator speaks plain HTTP on loopback, so the device proves
possession of its private key by signing a short message instead; the cloud checks the
signature against the public key of the device's certificate.
"""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from simulators.wifi_cloud.authority import checkin_message


def sign(private_key_pem: str, message: bytes) -> bytes:
    """Sign `message` as the cloud expects for the key's type (ECDSA/RSA with SHA-256)."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    raise ValueError("unsupported key type: EC, RSA or Ed25519 expected")


def checkin_body(
    device_id: str,
    credential_id: str,
    private_key_pem: str,
    *,
    timestamp: int | None = None,
) -> dict[str, object]:
    """The JSON body of `POST /v1/devices/{device_id}/checkin`.

    Args:
        device_id: The registered device.
        credential_id: The id of the certificate the cloud issued to it.
        private_key_pem: The device's private key (PKCS#8 PEM); it is only used to sign.
        timestamp: Unix seconds to sign; now when not given.
    """
    moment = int(time.time()) if timestamp is None else timestamp
    signature = sign(private_key_pem, checkin_message(device_id, credential_id, moment))
    return {
        "credential_id": credential_id,
        "timestamp": moment,
        "signature": base64.b64encode(signature).decode(),
    }
