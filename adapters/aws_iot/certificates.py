"""Telling which AWS IoT certificates were made from a device's CSR.

AWS takes no idempotency key on `CreateCertificateFromCsr`: when its answer is lost, the
certificate exists and only its content says whose it is. AWS signs the CSR's public key,
so a certificate carrying that key is the device's. moto's server signs a key of its own
and keeps only the CSR's subject; against it (`AwsIotSettings.match_certificate_subject`)
a certificate with exactly the CSR's subject counts too. The simulated device puts its
key's fingerprint in its subject, so even then one key's certificate is not another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from adapters.cloud_errors import CloudInvalidRequest


@dataclass(frozen=True)
class CsrIdentity:
    """What a certificate signed from a CSR keeps of it."""

    public_key_der: bytes
    subject: x509.Name


def _public_der(key: object) -> bytes:
    encode = getattr(key, "public_bytes", None)
    if encode is None:
        return b""
    der = encode(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der if isinstance(der, bytes) else b""


def csr_identity(csr_pem: str) -> CsrIdentity:
    """The public key and subject of a PEM CSR; `CloudInvalidRequest` if it is none."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as error:
        raise CloudInvalidRequest(
            "the device's CSR is not a PEM certificate signing request",
            details={"operation": "CreateCertificateFromCsr"},
        ) from error
    return CsrIdentity(public_key_der=_public_der(csr.public_key()), subject=csr.subject)


def is_signed_from(
    certificate_pem: str, identity: CsrIdentity, *, match_subject: bool = False
) -> bool:
    """Whether the certificate was signed from the CSR `identity` was read from.

    Args:
        certificate_pem: The certificate, as AWS describes it.
        identity: What the CSR holds.
        match_subject: Also accept a certificate whose subject is the CSR's (moto).
    """
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError:
        return False
    if identity.public_key_der and _public_der(certificate.public_key()) == identity.public_key_der:
        return True
    return match_subject and len(identity.subject) > 0 and certificate.subject == identity.subject
