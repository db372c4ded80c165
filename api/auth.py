"""API keys: who is calling, for which tenant, with which scopes; and per-key limits.

A key looks like `dpk_<id>_<secret>`. Only its SHA-256 is stored (keys are long random
strings, so a fast hash is enough; nothing to crack by brute force). The id finds the
record; the secret's hash is compared in constant time.

Scopes: `read` (status, streams, strategies), `provision` (start runs and fleets, answer
a run's prompts), `operate` (retry, skip, cancel), `metrics` (`/metrics` only: every
tenant's counts, for a Prometheus scraper), `enroll` (read and manage the tenant's
enrollments), `admin` (everything).

A configured key must look random: a secret of 24 characters or more, with enough
variety (estimated from its characters' frequencies), and none of the placeholders of
the deployment examples.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from config.settings import Settings
from config.startup import ConfigurationError
from domain.identifiers import KEY_ID, TENANT

KEY_PREFIX = "dpk"


class Scope(StrEnum):
    """What a key may do."""

    READ = "read"
    PROVISION = "provision"
    OPERATE = "operate"
    METRICS = "metrics"
    ENROLL = "enroll"
    WEBHOOKS = "webhooks"
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


MIN_SECRET_CHARACTERS = 24
MIN_SECRET_BITS = 80.0
"""Least entropy of a secret, estimated from its characters' frequencies (a generated
secret has about 150 bits)."""
PLACEHOLDERS = ("replace", "changeme", "change-me", "change_me", "example", "placeholder")
PLACEHOLDER_CHARACTERS = frozenset("<>{}$ ")
MAKE_ONE = (
    "make one with: python -c \"import secrets; print('dpk_ops1_' + secrets.token_urlsafe(24))\""
)


def _estimated_bits(secret: str) -> float:
    counts = Counter(secret)
    return -sum(n * math.log2(n / len(secret)) for n in counts.values())


def check_key(key: str, variable: str = "DEVPROV_API_KEY") -> tuple[str, str]:
    """The (id, secret) of a configured key, or ConfigurationError saying why it is
    refused (without repeating it)."""
    lowered = key.lower()
    if any(word in lowered for word in PLACEHOLDERS) or PLACEHOLDER_CHARACTERS & set(key):
        raise ConfigurationError(f"{variable} is a placeholder of the examples; {MAKE_ONE}")
    key_id, secret = _split(key)
    if not key_id:
        raise ConfigurationError(f"{variable} must look like dpk_<id>_<secret>; {MAKE_ONE}")
    if not KEY_ID.is_valid(key_id):
        raise ConfigurationError(f"{variable}: the key id is {KEY_ID.rule}")
    if len(secret) < MIN_SECRET_CHARACTERS:
        raise ConfigurationError(
            f"{variable}: the secret must have at least {MIN_SECRET_CHARACTERS} characters"
            f" (it has {len(secret)}); {MAKE_ONE}"
        )
    if _estimated_bits(secret) < MIN_SECRET_BITS:
        raise ConfigurationError(
            f"{variable}: the secret is too predictable (repeated characters or a pattern);"
            f" {MAKE_ONE}"
        )
    return key_id, secret


def stored_from_plaintext(key: str, tenant: str, scopes: Iterable[Scope]) -> StoredKey:
    """The stored form of a key given in plaintext (e.g. `$DEVPROV_API_KEY`), once
    `check_key` accepts it."""
    key_id, secret = check_key(key)
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

    def stored(self, key_id: str) -> StoredKey | None:
        """The stored key of `key_id`, if any."""
        return self._keys.get(key_id)

    def authenticate(self, presented: str) -> Caller | None:
        """The caller a presented key belongs to, or None."""
        key_id, secret = _split(presented)
        stored = self._keys.get(key_id)
        if stored is None or not hmac.compare_digest(_hash(secret), stored.secret_sha256):
            return None
        return Caller(stored.key_id, stored.tenant, stored.scopes)

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        """Keys from a JSON file: `[{"id", "sha256", "tenant", "scopes": [...]}, ...]`.

        Raises:
            ConfigurationError: the file is unreadable, or an entry is malformed.
        """
        try:
            entries = json.loads(path.read_text())
            if not isinstance(entries, list):
                raise TypeError("the file must hold a JSON list")
            return cls(_stored_key(entry) for entry in entries)
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise ConfigurationError(f"DEVPROV_API_KEYS_FILE {path}: {error}") from None

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


def _stored_key(entry: Any) -> StoredKey:
    key_id, digest, tenant = entry["id"], entry["sha256"], entry["tenant"]
    if not isinstance(key_id, str) or not KEY_ID.is_valid(key_id):
        raise ValueError(f"a key id is {KEY_ID.rule}")
    if not isinstance(tenant, str) or not TENANT.is_valid(tenant):
        raise ValueError(f"key '{key_id}': a tenant is {TENANT.rule}")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"key '{key_id}': sha256 must be 64 lowercase hex digits")
    try:
        scopes = frozenset(Scope(scope) for scope in entry["scopes"])
    except ValueError:
        raise ValueError(
            f"key '{key_id}': scopes are among {', '.join(s.value for s in Scope)}"
        ) from None
    return StoredKey(key_id, digest, tenant, scopes)


@dataclass
class KeyLimits:
    """Abuse limits per key: starts per minute, devices started per hour (a fleet
    counts each of its devices, a retry counts as a start) and concurrent streams."""

    starts_per_minute: int = 600
    devices_per_hour: int = 20_000
    max_streams: int = 50
    _starts: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _devices: dict[str, deque[tuple[float, int]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _streams: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def take_start(self, key_id: str, devices: int = 1, now: float | None = None) -> float | None:
        """Count one start of `devices` devices; None if allowed, else seconds until it
        would be (`math.inf` when it never can: more devices than an hour allows)."""
        if devices > self.devices_per_hour:
            return math.inf
        moment = time.monotonic() if now is None else now
        starts = self._starts[key_id]
        while starts and moment - starts[0] >= 60.0:
            starts.popleft()
        if len(starts) >= self.starts_per_minute:
            return 60.0 - (moment - starts[0])
        started = self._devices[key_id]
        while started and moment - started[0][0] >= 3600.0:
            started.popleft()
        excess = sum(n for _, n in started) + devices - self.devices_per_hour
        for at, n in started:
            if excess <= 0:
                break
            excess -= n
            if excess <= 0:
                return 3600.0 - (moment - at)
        starts.append(moment)
        started.append((moment, devices))
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
        limits = KeyLimits(
            starts_per_minute=settings.api.starts_per_minute,
            devices_per_hour=settings.api.devices_per_hour,
            max_streams=settings.api.streams_per_key,
        )
        return cls(KeyStore(keys), frozenset(public), limits)
