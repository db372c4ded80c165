"""A device key pair and its certificate signing request (CSR), for the cloud's claim.

On real hardware the key pair is generated on the device and only the CSR leaves it.
Simulated devices cannot do that, so the run generates the pair; the private key then
travels as a `WireSecret` until it is handed to the device, and is never logged.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from domain.cloud import DeviceKeyPair

KEY_ALGORITHM = "EC-P256"


def make_device_key_pair(device_id: str) -> DeviceKeyPair:
    """An EC P-256 key pair and a CSR whose subject common name is `device_id`."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return DeviceKeyPair(
        device_id=device_id,
        key_algorithm=KEY_ALGORITHM,
        csr_pem=csr.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=SecretStr(private_pem.decode()),
    )
