"""Telling a certificate made from the device's CSR (adapters/aws_iot/certificates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.aws_iot.certificates import csr_identity, is_signed_from
from adapters.cloud_errors import CloudInvalidRequest

SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plug-1")])


def csr_pem(key: ec.EllipticCurvePrivateKey) -> str:
    csr = x509.CertificateSigningRequestBuilder().subject_name(SUBJECT).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def certificate_pem(public_key: ec.EllipticCurvePublicKey, subject: x509.Name) -> str:
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_a_certificate_for_the_csrs_key_is_the_devices() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AWS IoT Certificate")])

    assert is_signed_from(
        certificate_pem(key.public_key(), other_subject), csr_identity(csr_pem(key))
    )


def test_a_certificate_for_another_key_is_not_even_with_the_same_subject() -> None:
    identity = csr_identity(csr_pem(ec.generate_private_key(ec.SECP256R1())))
    other = certificate_pem(ec.generate_private_key(ec.SECP256R1()).public_key(), SUBJECT)

    assert not is_signed_from(other, identity)
    assert is_signed_from(other, identity, match_subject=True)  # moto's way


def test_what_is_not_a_csr_is_an_invalid_request() -> None:
    with pytest.raises(CloudInvalidRequest):
        csr_identity("-----BEGIN CERTIFICATE REQUEST-----\nnope\n")
