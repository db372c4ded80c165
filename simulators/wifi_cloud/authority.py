"""The simulated cloud's certificate authority: signs device CSRs, checks device proofs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "devprov simulated vendor cloud CA"
MIN_RSA_BITS = 2048
_EC_CURVES = (ec.SECP256R1, ec.SECP384R1)
# Certificates are valid from a little before they are issued, for clocks slightly behind.
_BACKDATE = timedelta(minutes=5)


class InvalidCsr(Exception):
    """The certificate signing request cannot be signed; the message says why."""


@dataclass(frozen=True)
class SignedCertificate:
    """A device certificate and its id (SHA-256 of its DER form, as AWS IoT names them)."""

    credential_id: str
    certificate: x509.Certificate
    pem: str


def checkin_message(device_id: str, credential_id: str, timestamp: int) -> bytes:
    """What a device signs with its private key to prove it holds its credential."""
    return f"devprov-checkin\n{device_id}\n{credential_id}\n{timestamp}".encode()


def _common_name(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def _check_key(key: object) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _EC_CURVES):
            raise InvalidCsr(f"EC curve {key.curve.name} is not accepted (P-256 or P-384)")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidCsr(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise InvalidCsr("the key must be EC P-256/P-384, RSA or Ed25519")


def verify_signature(certificate: x509.Certificate, signature: bytes, message: bytes) -> bool:
    """Whether `signature` over `message` was made by the key of `certificate`."""
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            return False
    except InvalidSignature:
        return False
    return True


class CertificateAuthority:
    """A self-signed EC P-256 CA made at start-up; its key lives only in memory."""

    def __init__(self, now: datetime) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def certificate_pem(self) -> str:
        """The CA certificate, for clients that check device certificates."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(
        self, csr_pem: str, device_id: str, now: datetime, validity: timedelta
    ) -> SignedCertificate:
        """A client certificate for `device_id` from its CSR.

        Raises:
            InvalidCsr: Not a PEM CSR, a bad self-signature, a weak key, or a subject
                whose common name is not `device_id`.
        """
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError:
            raise InvalidCsr("not a PEM-encoded PKCS#10 certificate signing request") from None
        if not csr.is_signature_valid:
            raise InvalidCsr("the request's signature does not match its key")
        _check_key(csr.public_key())
        common_name = _common_name(csr.subject)
        if common_name != device_id:
            raise InvalidCsr(
                f"the subject's common name must be the device id '{device_id}', "
                f"not {common_name!r}"
            )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        return SignedCertificate(
            credential_id=hashlib.sha256(der).hexdigest(),
            certificate=certificate,
            pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        )
