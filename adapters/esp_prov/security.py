"""protocomm's secure sessions, client side (no I/O): the handshakes and the session ciphers.

Security 2: the client sends its username and SRP public key A (command 0); the device
answers its public key B and salt; the client sends its proof M1 (command 1); the
device answers its proof M2 and a 12-byte nonce. Both then encrypt with AES-256-GCM,
the key being the first 32 bytes of the SRP session key. From security patch 1 on, the
nonce's last four bytes count (big-endian) every message either side encrypts or
decrypts; before it, the nonce stays the same.

Security 1: the client sends its Curve25519 public key; the device answers its own
and 16 random bytes; the shared secret, XORed with SHA-256 of the proof of possession
when there is one, is the AES-256-CTR key, the random bytes its counter block. One CTR
stream runs through the session in both directions. The client proves itself by
sending the device's public key encrypted (command 1); the device answers the client's.

A device that refuses a proof answers the handshake's write with an ATT error, or a
status other than Success: both end in `SessionAuthFailed` at the session level.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.esp_prov.proto import constants_pb2, sec1_pb2, sec2_pb2, session_pb2
from adapters.esp_prov.protocol import SecurityScheme
from adapters.esp_prov.srp6a import SrpClient, SrpError

AES_KEY_BYTES = 32
GCM_NONCE_BYTES = 12
GCM_TAG_BYTES = 16
SRP_PUBLIC_KEY_BYTES = 384
SRP_PROOF_BYTES = 64
X25519_KEY_BYTES = 32
SEC1_RANDOM_BYTES = 16


class HandshakeError(ValueError):
    """The device's handshake message is malformed or out of order."""


class ProofRejected(ValueError):
    """A proof did not match: the secret (password, proof of possession) is wrong on one
    side, or the device is not the one that holds it."""


class SessionCipher(Protocol):
    """Encrypts requests and decrypts responses of one established session."""

    def encrypt(self, data: bytes) -> bytes: ...

    def decrypt(self, data: bytes) -> bytes: ...


class PlainText:
    """Security 0: no encryption."""

    def encrypt(self, data: bytes) -> bytes:
        return data

    def decrypt(self, data: bytes) -> bytes:
        return data


class GcmCipher:
    """Security 2's AES-256-GCM, its nonce counting every message (patch 1) or fixed.

    Both sides hold one of these: each encrypt and decrypt moves the one counter on, so
    the device's and the client's stay in step as long as every request has a response.
    """

    def __init__(self, key: bytes, nonce: bytes, *, counting: bool = True) -> None:
        if len(key) != AES_KEY_BYTES or len(nonce) != GCM_NONCE_BYTES:
            raise ValueError("security 2 needs a 32-byte key and a 12-byte nonce")
        self._aead = AESGCM(key)
        self._prefix = nonce[:8]
        (self._counter,) = struct.unpack(">I", nonce[8:])
        self._counting = counting

    def _next_nonce(self) -> bytes:
        nonce = self._prefix + struct.pack(">I", self._counter)
        if self._counting:
            if self._counter == 0xFFFFFFFF:
                raise ValueError("the session's nonce counter is exhausted")
            self._counter += 1
        return nonce

    def encrypt(self, data: bytes) -> bytes:
        return self._aead.encrypt(self._next_nonce(), data, None)

    def decrypt(self, data: bytes) -> bytes:
        """Raises cryptography's InvalidTag when the data was not sealed with this session."""
        return self._aead.decrypt(self._next_nonce(), data, None)


class CtrStream:
    """Security 1's AES-256-CTR: one key stream through the session, both directions."""

    def __init__(self, key: bytes, counter_block: bytes) -> None:
        self._stream = Cipher(algorithms.AES(key), modes.CTR(counter_block)).encryptor()

    def encrypt(self, data: bytes) -> bytes:
        return self._stream.update(data)

    def decrypt(self, data: bytes) -> bytes:
        return self._stream.update(data)


def _session_data(data: bytes) -> session_pb2.SessionData:
    message = session_pb2.SessionData()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise HandshakeError("the session answer is not a SessionData message") from exc
    return message


def _check_status(status: int, what: str) -> None:
    if status != constants_pb2.Success:
        names = {int(value): name for name, value in constants_pb2.Status.items()}
        raise ProofRejected(f"{what}: the device answered {names.get(status, status)}")


PayloadT = TypeVar("PayloadT", sec1_pb2.Sec1Payload, sec2_pb2.Sec2Payload)


@dataclass(frozen=True)
class _Framing(Generic[PayloadT]):
    """How one scheme's handshake messages sit in protocomm's `SessionData`: its
    `sec_ver` and the member of the `proto` oneof that carries its payload."""

    name: str
    sec_ver: session_pb2.SecSchemeVersion.ValueType
    payload_of: Callable[[session_pb2.SessionData], PayloadT]

    def request(self, msg: int) -> tuple[session_pb2.SessionData, PayloadT]:
        """A new handshake message of type `msg`, and its payload to fill in."""
        message = session_pb2.SessionData(sec_ver=self.sec_ver)
        payload = self.payload_of(message)
        payload.msg = msg  # type: ignore[assignment]  # each scheme's own message enum
        return message, payload

    def answer(self, data: bytes, msg: int, what: str) -> PayloadT:
        """The payload of the device's answer, which must be of type `msg`.

        Raises:
            HandshakeError: It is not a SessionData of this scheme and type.
        """
        message = _session_data(data)
        payload = self.payload_of(message)
        if message.sec_ver != self.sec_ver or payload.msg != msg:
            raise HandshakeError(f"the device did not answer a {self.name} {what}")
        return payload


_SEC2 = _Framing[sec2_pb2.Sec2Payload](
    "security 2", session_pb2.SecScheme2, lambda message: message.sec2
)
_SEC1 = _Framing[sec1_pb2.Sec1Payload](
    "security 1", session_pb2.SecScheme1, lambda message: message.sec1
)


class _HandshakeSteps:
    """Command 0, command 1, finish: in this order, command 0 starting over."""

    _step = 0

    def _started(self) -> None:
        self._step = 1

    def _advance(self, expected: int, doing: str) -> None:
        if self._step != expected:
            raise HandshakeError(f"{doing} out of order")
        self._step = expected + 1


class Security2Handshake(_HandshakeSteps):
    """The client side of a security 2 handshake; one instance per session.

    Args:
        username: The device's SRP username (ESP-IDF's examples: `wifiprov`).
        password: Its SRP password (printed on the device, or in its factory data).
        counting_nonce: Whether the device's security patch is 1 or later.
    """

    scheme = SecurityScheme.SEC2

    def __init__(self, username: str, password: str, *, counting_nonce: bool = True) -> None:
        self._username = username.encode()
        self._srp = SrpClient(self._username, password.encode())
        self._counting = counting_nonce

    def command0(self) -> bytes:
        """Username and A."""
        message, payload = _SEC2.request(sec2_pb2.S2Session_Command0)
        payload.sc0.client_username = self._username
        payload.sc0.client_pubkey = self._srp.public_key
        self._started()
        return message.SerializeToString()

    def command1(self, response0: bytes) -> bytes:
        """M1, from the device's B and salt."""
        self._advance(1, "command 1")
        response = _SEC2.answer(response0, sec2_pb2.S2Session_Response0, "response 0").sr0
        _check_status(response.status, "security 2 response 0")
        if not response.device_salt or not response.device_pubkey:
            raise HandshakeError("the device sent no salt or no public key")
        try:
            proof = self._srp.process_challenge(response.device_salt, response.device_pubkey)
        except SrpError as exc:
            raise HandshakeError(f"the device's SRP values are unusable: {exc}") from exc
        request, payload = _SEC2.request(sec2_pb2.S2Session_Command1)
        payload.sc1.client_proof = proof
        return request.SerializeToString()

    def finish(self, response1: bytes) -> GcmCipher:
        """Check the device's proof; the session's cipher.

        Raises:
            ProofRejected: The device refused our proof, or its proof is wrong.
            HandshakeError: The answer is malformed.
        """
        self._advance(2, "finishing the handshake")
        response = _SEC2.answer(response1, sec2_pb2.S2Session_Response1, "response 1").sr1
        _check_status(response.status, "security 2 response 1")
        try:
            key = self._srp.verify_device(response.device_proof)
        except SrpError as exc:
            raise ProofRejected(f"security 2: {exc}") from exc
        if len(response.device_nonce) != GCM_NONCE_BYTES:
            raise HandshakeError("the device's nonce is not 12 bytes")
        return GcmCipher(key[:AES_KEY_BYTES], response.device_nonce, counting=self._counting)


def sec1_key(shared_secret: bytes, proof_of_possession: str | None) -> bytes:
    """Security 1's AES key: the X25519 secret, XORed with SHA-256(PoP) when there is one."""
    if not proof_of_possession:
        return shared_secret
    digest = hashlib.sha256(proof_of_possession.encode()).digest()
    return bytes(a ^ b for a, b in zip(shared_secret, digest, strict=True))


def _raw(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class Security1Handshake(_HandshakeSteps):
    """The client side of a security 1 handshake; one instance per session.

    Args:
        proof_of_possession: The device's PoP (printed on it); None for `no_pop` devices.
    """

    scheme = SecurityScheme.SEC1

    def __init__(self, proof_of_possession: str | None) -> None:
        self._private = X25519PrivateKey.generate()
        self._pop = proof_of_possession
        self._stream: CtrStream | None = None
        self._device_public = b""

    def command0(self) -> bytes:
        message, payload = _SEC1.request(sec1_pb2.Session_Command0)
        payload.sc0.client_pubkey = _raw(self._private.public_key())
        self._started()
        return message.SerializeToString()

    def command1(self, response0: bytes) -> bytes:
        self._advance(1, "command 1")
        response = _SEC1.answer(response0, sec1_pb2.Session_Response0, "response 0").sr0
        _check_status(response.status, "security 1 response 0")
        if (
            len(response.device_pubkey) != X25519_KEY_BYTES
            or len(response.device_random) != SEC1_RANDOM_BYTES
        ):
            raise HandshakeError("the device's public key or random bytes have a wrong length")
        self._device_public = response.device_pubkey
        shared = self._private.exchange(X25519PublicKey.from_public_bytes(self._device_public))
        self._stream = CtrStream(sec1_key(shared, self._pop), response.device_random)
        request, payload = _SEC1.request(sec1_pb2.Session_Command1)
        payload.sc1.client_verify_data = self._stream.encrypt(self._device_public)
        return request.SerializeToString()

    def finish(self, response1: bytes) -> CtrStream:
        self._advance(2, "finishing the handshake")
        if self._stream is None:
            raise HandshakeError("finishing the handshake out of order")
        response = _SEC1.answer(response1, sec1_pb2.Session_Response1, "response 1").sr1
        _check_status(response.status, "security 1 response 1")
        client_public = _raw(self._private.public_key())
        if not hmac.compare_digest(
            self._stream.decrypt(response.device_verify_data), client_public
        ):
            raise ProofRejected("security 1: the device's verification data does not match")
        return self._stream


SecurityHandshake = Security1Handshake | Security2Handshake
