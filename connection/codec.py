"""Payload encryption: AES-GCM with a key id in each payload, and a key ring for rotation.

Every client of devprov (API, workers, CLI, tests) builds its data converter here, so
every payload — run inputs with Wi-Fi passphrases and install codes, activity
arguments, update arguments, results — and every failure message and stack trace
(moved into encoded attributes by the failure converter) is encrypted before it
reaches Temporal. The history holds ciphertext; the Web UI shows plaintext only through
the codec server (`worker.codec_server`, served by the embedded stack) to whom holds its token.

Rotation: put a new key first in the ring and keep the old ones after it. New payloads
use the first key; payloads name the key they were encrypted with, so histories written
with an old key still decode as long as that key stays in the ring.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)

from config.settings import CodecSettings
from config.startup import ConfigurationError

logger = logging.getLogger("devprov.codec")

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class CodecKeyError(ConfigurationError):
    """The key ring is missing, malformed, or lacks the key a payload names."""


@dataclass(frozen=True)
class KeyRing:
    """AES-256 keys by id; the first one encrypts, all of them decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise CodecKeyError("the key ring is empty")
        for key_id, key in self.keys:
            if len(key) != 32:
                raise CodecKeyError(f"key '{key_id}' must be 32 bytes (AES-256), not {len(key)}")

    @property
    def active_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for candidate_id, key in self.keys:
            if candidate_id == key_id:
                return key
        raise CodecKeyError(f"no key '{key_id}' in the ring: keep old keys after rotating")

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Parse `id:base64key,id:base64key` (active key first)."""
        keys: list[tuple[str, bytes]] = []
        for item in text.split(","):
            key_id, sep, encoded = item.strip().partition(":")
            if not sep or not key_id:
                raise CodecKeyError("write the key ring as id:base64key[,id:base64key...]")
            try:
                keys.append((key_id, base64.b64decode(encoded, validate=True)))
            except ValueError as error:
                raise CodecKeyError(f"key '{key_id}' is not valid base64") from error
        return cls(tuple(keys))

    def dump(self) -> str:
        """The `id:base64key,...` form (a secret: store it like one)."""
        return ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in self.keys)

    @classmethod
    def generate(cls, key_id: str = "k1") -> KeyRing:
        """A ring with one fresh random key."""
        return cls(((key_id, AESGCM.generate_key(bit_length=256)),))

    def rotated(self, key_id: str) -> KeyRing:
        """A ring with a new active key `key_id`, keeping every old key for decryption."""
        if any(existing == key_id for existing, _ in self.keys):
            raise CodecKeyError(f"key id '{key_id}' is already in the ring")
        return KeyRing(((key_id, AESGCM.generate_key(bit_length=256)), *self.keys))


class EncryptionCodec(PayloadCodec):
    """AES-GCM over the serialized payload; the key id travels in the metadata."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    @property
    def ring(self) -> KeyRing:
        """The ring it encrypts with (also seals the registry's secrets)."""
        return self._ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._ring.active_id
        cipher = AESGCM(self._ring.key(key_id))
        encoded: list[Payload] = []
        for payload in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded: list[Payload] = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                # Written before encryption was on (or by another codec): as it is.
                decoded.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
            cipher = AESGCM(self._ring.key(key_id))
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            try:
                plain = cipher.decrypt(nonce, sealed, key_id.encode())
            except InvalidTag as error:
                raise CodecKeyError(f"payload does not decrypt with key '{key_id}'") from error
            inner = Payload()
            inner.ParseFromString(plain)
            decoded.append(inner)
        return decoded


_type_adapter = functools.lru_cache(maxsize=1024)(TypeAdapter)
"""The pydantic adapters of every payload type, built once for the whole process."""


class _ProcessWideAdaptersConverter(PydanticJSONPlainPayloadConverter):
    """The SDK's pydantic JSON converter, its type adapters kept for the process.

    The SDK builds a new payload converter for each workflow run it starts, and so a new
    cache of type adapters: every run built the adapters of its input and of each
    activity result type again (four for an HTTP Wi-Fi run). The payload types are
    module-level classes (`domain`, passed through the sandbox), the same for every
    run, and an adapter holds no state of its own."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint: Any = Any if type_hint is None else type_hint
        try:
            adapter: TypeAdapter[Any] = _type_adapter(hint)
        except TypeError:  # an unhashable hint: nothing to keep it under
            adapter = TypeAdapter(hint)
        return adapter.validate_json(payload.data)


class PydanticJsonPayloadConverter(CompositePayloadConverter):
    """The SDK's default payload converters, JSON through pydantic with adapters kept
    for the process."""

    def __init__(self) -> None:
        json_converter = _ProcessWideAdaptersConverter()
        super().__init__(
            *(
                json_converter if isinstance(converter, JSONPlainPayloadConverter) else converter
                for converter in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


PYDANTIC_DATA_CONVERTER = DataConverter(payload_converter_class=PydanticJsonPayloadConverter)
"""devprov's unencrypted data converter (tests, tools): pydantic JSON."""


def data_converter(ring: KeyRing | None) -> DataConverter:
    """devprov's data converter: pydantic JSON, encrypted with `ring` when given."""
    if ring is None:
        return PYDANTIC_DATA_CONVERTER
    return dataclasses.replace(
        PYDANTIC_DATA_CONVERTER,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def load_key_ring(
    codec: CodecSettings | None = None,
    *,
    default_file: Path | None = None,
    create: bool = False,
) -> KeyRing | None:
    """The key ring from `$DEVPROV_CODEC_KEYS`, `$DEVPROV_CODEC_KEY_FILE` or `default_file`.

    With `create`, a missing `default_file` is made with one fresh key, readable by its
    owner only (the embedded stack keeps it in its data directory, so a restart still
    decodes earlier runs). The active key's id is logged, never the key.

    Raises:
        CodecKeyError: no key anywhere (unless `DEVPROV_CODEC=off`, which returns None
            and logs that payloads go to Temporal in clear), or a ring that is unreadable
            or malformed.
    """
    codec = codec or CodecSettings.from_env()
    if not codec.enabled:
        logger.error(
            "DEVPROV_CODEC=off: payloads are NOT encrypted; Wi-Fi passphrases, install "
            "codes and keys go to Temporal's histories in clear"
        )
        return None
    ring = _configured_ring(codec, default_file, create)
    if ring is None:
        raise CodecKeyError(
            "no payload encryption keys: set DEVPROV_CODEC_KEYS or DEVPROV_CODEC_KEY_FILE "
            "(a ring `id:base64key`, see docs/security.md), or DEVPROV_CODEC=off to write "
            "payloads to Temporal in clear"
        )
    logger.info("payloads are encrypted with the active key '%s'", ring.active_id)
    return ring


def _configured_ring(
    codec: CodecSettings, default_file: Path | None, create: bool
) -> KeyRing | None:
    if codec.keys:
        return KeyRing.parse(codec.keys)
    path = codec.key_file
    if path is None and default_file is not None:
        if create and not default_file.exists():
            default_file.parent.mkdir(parents=True, exist_ok=True)
            default_file.touch(mode=0o600)
            default_file.write_text(KeyRing.generate().dump() + "\n")
        if default_file.exists():
            path = default_file
    if path is None:
        return None
    try:
        return KeyRing.parse(path.read_text().strip())
    except OSError as error:
        raise CodecKeyError(f"cannot read the codec key file {path}: {error}") from error


__all__ = [
    "CodecKeyError",
    "EncryptionCodec",
    "KeyRing",
    "data_converter",
    "load_key_ring",
]
