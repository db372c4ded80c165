"""Secrets devprov must read back later (webhook signing secrets), sealed at rest.

A `SecretBox` encrypts with AES-GCM under a key derived (HKDF-SHA256) from each key of
the payload key ring, so one ring protects both the histories and the registry's
secrets, and rotates the same way: the active key seals, every key in the ring opens
what it sealed. A sealed secret reads `<key id>:<base64 nonce + ciphertext>`.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.converter import DataConverter

from connection.codec import CodecKeyError, EncryptionCodec, KeyRing

_INFO = b"devprov registry secrets v1"
_NONCE_BYTES = 12


def _derived(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key)


class SecretBox:
    """Seals and opens short secrets with keys derived from a `KeyRing`."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._keys = {key_id: _derived(key) for key_id, key in ring.keys}

    def seal(self, secret: str) -> str:
        key_id = self._ring.active_id
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self._keys[key_id]).encrypt(nonce, secret.encode(), key_id.encode())
        return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str) -> str:
        """The secret `seal` gave `sealed`.

        Raises:
            CodecKeyError: The key it names is not in the ring, or it does not decrypt.
        """
        key_id, _, encoded = sealed.partition(":")
        key = self._keys.get(key_id)
        if key is None:
            raise CodecKeyError(f"no key '{key_id}' in the ring: keep old keys after rotating")
        raw = base64.b64decode(encoded)
        try:
            plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], key_id.encode())
        except InvalidTag as error:
            raise CodecKeyError(f"a sealed secret does not open with key '{key_id}'") from error
        return plain.decode()

    def __repr__(self) -> str:
        return f"SecretBox(active key '{self._ring.active_id}')"


def secret_box_of(converter: DataConverter) -> SecretBox | None:
    """The box of the key ring `converter` encrypts payloads with; None when payloads
    are not encrypted (`DEVPROV_CODEC=off`)."""
    codec = converter.payload_codec
    if isinstance(codec, EncryptionCodec):
        return SecretBox(codec.ring)
    return None
