"""API keys: who is calling, for which tenant, with which scopes; and per-key limits.

A key looks like `dpk_<id>_<secret>`. Only its SHA-256 is stored (keys are long random
strings, so a fast hash is enough; nothing to crack by brute force). The id finds the
record; the secret's hash is compared in constant time.

Scopes: `read` (status, streams, strategies), `provision` (start runs and fleets, answer
a run's prompts), `operate` (retry, skip, cancel), `admin` (everything).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from config.settings import Settings

KEY_PREFIX = "dpk"


class Scope(StrEnum):
    """What a key may do."""

    READ = "read"
    PROVISION = "provision"
    OPERATE = "operate"
    ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller."""

    key_id: str
    tenant: str
    scopes: frozenset[Scope]

    def may(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    @property
    def identity(self) -> str:
        """How runs record who started them (never the key itself)."""
        return f"key:{self.key_id}"


@dataclass(frozen=True)
class StoredKey:
    """One key as stored: its id, the SHA-256 of its secret, tenant and scopes."""

    key_id: str
    secret_sha256: str
    tenant: str
    scopes: frozenset[Scope]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(
    tenant: str, scopes: Iterable[Scope], key_id: str | None = None
) -> tuple[str, StoredKey]:
    """A fresh key: its plaintext (show it once) and what to store."""
    key_id = key_id or secrets.token_hex(4)
    secret = secrets.token_urlsafe(24)
    return (
        f"{KEY_PREFIX}_{key_id}_{secret}",
        StoredKey(key_id, _hash(secret), tenant, frozenset(scopes)),
    )


def stored_from_plaintext(key: str, tenant: str, scopes: Iterable[Scope]) -> StoredKey:
    """The stored form of a key given in plaintext (e.g. `$DEVPROV_API_KEY`)."""
    key_id, secret = _split(key)
    if not key_id:
        raise ValueError("an API key looks like dpk_<id>_<secret>")
    return StoredKey(key_id, _hash(secret), tenant, frozenset(scopes))


def _split(key: str) -> tuple[str, str]:
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return "", ""
    return key_id, secret


class KeyStore:
    """The API keys the API accepts."""

    def __init__(self, keys: Iterable[StoredKey]) -> None:
        self._keys = {k.key_id: k for k in keys}

    @property
    def has_keys(self) -> bool:
        return bool(self._keys)

    def authenticate(self, presented: str) -> Caller | None:
        """The caller a presented key belongs to, or None."""
        key_id, secret = _split(presented)
        stored = self._keys.get(key_id)
        if stored is None or not hmac.compare_digest(_hash(secret), stored.secret_sha256):
            return None
        return Caller(stored.key_id, stored.tenant, stored.scopes)

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        """Keys from a JSON file: `[{"id", "sha256", "tenant", "scopes": [...]}, ...]`."""
        entries = json.loads(path.read_text())
        return cls(
            StoredKey(e["id"], e["sha256"], e["tenant"], frozenset(Scope(s) for s in e["scopes"]))
            for e in entries
        )

    @staticmethod
    def dump(keys: Iterable[StoredKey]) -> str:
        """The JSON file form of `keys` (hashes only)."""
        return json.dumps(
            [
                {
                    "id": k.key_id,
                    "sha256": k.secret_sha256,
                    "tenant": k.tenant,
                    "scopes": sorted(s.value for s in k.scopes),
                }
                for k in keys
            ],
            indent=2,
        )


@dataclass
class KeyLimits:
    """Abuse limits per key: starts per minute and concurrent event streams."""

    starts_per_minute: int = 600
    max_streams: int = 50
    _starts: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _streams: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def take_start(self, key_id: str, now: float | None = None) -> float | None:
        """Count one start; None if allowed, else seconds until the next one is."""
        moment = time.monotonic() if now is None else now
        window = self._starts[key_id]
        while window and moment - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.starts_per_minute:
            return 60.0 - (moment - window[0])
        window.append(moment)
        return None

    def open_stream(self, key_id: str) -> bool:
        """Count one open stream; False when the key has too many."""
        if self._streams[key_id] >= self.max_streams:
            return False
        self._streams[key_id] += 1
        return True

    def close_stream(self, key_id: str) -> None:
        self._streams[key_id] = max(0, self._streams[key_id] - 1)


@dataclass(frozen=True)
class AuthConfig:
    """Authentication of the API: the keys, which paths are public, the limits."""

    keys: KeyStore
    public_paths: frozenset[str] = frozenset({"/healthz", "/readyz"})
    limits: KeyLimits = field(default_factory=KeyLimits)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, fallback_key: StoredKey | None = None
    ) -> AuthConfig:
        """`from_settings` of the settings in `environ`."""
        return cls.from_settings(Settings.from_env(environ), fallback_key=fallback_key)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, fallback_key: StoredKey | None = None
    ) -> AuthConfig:
        """`$DEVPROV_API_KEYS_FILE` (hashed keys) and/or `$DEVPROV_API_KEY` (admin of
        tenant `default`); `$DEVPROV_METRICS_PUBLIC=1` leaves /metrics open."""
        keys: list[StoredKey] = []
        if settings.api.keys_file is not None:
            keys += KeyStore.load(settings.api.keys_file)._keys.values()
        if settings.api.key:
            keys.append(stored_from_plaintext(settings.api.key, "default", Scope))
        elif fallback_key is not None:
            keys.append(fallback_key)
        public = {"/healthz", "/readyz"}
        if settings.metrics.public:
            public.add("/metrics")
        return cls(KeyStore(keys), frozenset(public))
