"""What the simulated cloud holds: credentials, device records, policies, check-ins.

Nothing here does I/O. Clocks are injected: a monotonic one for expiries and the
automatic check-in, a wall clock for the timestamps the API shows.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509

from simulators.wifi_cloud.authority import (
    CertificateAuthority,
    InvalidCsr,
    checkin_message,
    verify_signature,
)
from simulators.wifi_cloud.config import CloudConfig

logger = logging.getLogger("devprov.simulators.wifi_cloud")


class CloudApiError(Exception):
    """A request the cloud refuses: HTTP `status` with a stable `error` code.

    Messages never contain a claim token, an ownership token or a key.
    """

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def utc_now() -> datetime:
    """The wall clock the simulator shows by default."""
    return datetime.now(UTC)


@dataclass
class CredentialRecord:
    """A certificate the cloud issued; the ownership token is kept only as a hash."""

    credential_id: str
    device_id: str
    certificate: x509.Certificate
    certificate_pem: str
    issued_at: datetime
    ownership_token_hash: str = field(repr=False)
    ownership_token_expires: float
    ownership_token_expires_at: datetime
    ownership_token_used: bool = False
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def as_wire(self) -> dict[str, object]:
        """The credential as the API lists it (no token, no certificate)."""
        return {
            "credential_id": self.credential_id,
            "device_id": self.device_id,
            "status": "active" if self.active else "revoked",
            "issued_at": _iso(self.issued_at),
            "revoked_at": _iso(self.revoked_at),
        }


@dataclass
class DeviceRecord:
    """A registered device (the "thing")."""

    device_id: str
    credential_id: str
    attributes: dict[str, str]
    registered_at: datetime
    policies: set[str] = field(default_factory=set)
    last_checkin_at: datetime | None = None
    ready_since: float | None = None
    """Monotonic time since which it has a policy and an active credential."""


@dataclass
class SideEffects:
    """Changes the cloud made, whatever the answers that reached the client."""

    credentials_issued: int = 0
    credentials_revoked: int = 0
    registrations: int = 0
    deregistrations: int = 0
    policy_attachments: int = 0
    checkins: int = 0


@dataclass(frozen=True)
class Issued:
    """What `issue_credential` hands back: the record and the token in clear, once."""

    credential: CredentialRecord
    ownership_token: str = field(repr=False)


class CloudRegistry:
    """Credentials, devices and policies of the simulated cloud.

    Args:
        config: Claim tokens, policies, validity and check-in behaviour.
        clock: Monotonic seconds (expiries, automatic check-in).
        wall_clock: Aware UTC datetimes shown by the API.
    """

    def __init__(
        self,
        config: CloudConfig,
        *,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self.authority = CertificateAuthority(wall_clock())
        self.credentials: dict[str, CredentialRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}
        self.effects = SideEffects()
        self.registrations_per_device: Counter[str] = Counter()
        self.silent_devices: frozenset[str] = frozenset()
        self._credential_by_token: dict[str, str] = {}

    def wall_now(self) -> datetime:
        """The wall clock the API shows."""
        return self._wall_clock()

    def reset(self) -> None:
        """Forget every credential, device and counter; the CA stays."""
        self.credentials.clear()
        self.devices.clear()
        self.effects = SideEffects()
        self.registrations_per_device.clear()
        self._credential_by_token.clear()

    # --- credentials --------------------------------------------------------------------

    def _claim_is_valid(self, claim_token: str) -> bool:
        # Compare with every token, in constant time, so timing tells nothing.
        matches = [
            hmac.compare_digest(claim_token.encode(), known.encode())
            for known in self.config.claim_tokens
        ]
        return any(matches)

    def issue_credential(self, device_id: str, claim_token: str, csr_pem: str) -> Issued:
        """Sign the device's CSR in exchange for a valid claim (`CreateCertificateFromCsr`)."""
        if not self._claim_is_valid(claim_token):
            raise CloudApiError(403, "invalid_claim", "the claim token is not valid")
        now = self._wall_clock()
        validity = timedelta(days=self.config.certificate_validity_days)
        try:
            signed = self.authority.sign(csr_pem, device_id, now, validity)
        except InvalidCsr as exc:
            raise CloudApiError(400, "invalid_csr", str(exc)) from None
        token = secrets.token_urlsafe(32)
        ttl = self.config.ownership_token_ttl
        record = CredentialRecord(
            credential_id=signed.credential_id,
            device_id=device_id,
            certificate=signed.certificate,
            certificate_pem=signed.pem,
            issued_at=now,
            ownership_token_hash=_token_hash(token),
            ownership_token_expires=self._clock() + ttl,
            ownership_token_expires_at=now + timedelta(seconds=ttl),
        )
        self.credentials[record.credential_id] = record
        self._credential_by_token[record.ownership_token_hash] = record.credential_id
        self.effects.credentials_issued += 1
        logger.info("issued credential %s for device %s", record.credential_id[:12], device_id)
        return Issued(record, token)

    def credentials_of(self, device_id: str) -> list[CredentialRecord]:
        """Every credential issued for `device_id`, oldest first."""
        return [c for c in self.credentials.values() if c.device_id == device_id]

    def revoke_credential(self, credential_id: str) -> CredentialRecord:
        """Revoke a credential (idempotent); a device using it can no longer check in."""
        record = self.credentials.get(credential_id)
        if record is None:
            raise CloudApiError(404, "credential_not_found", "no such credential")
        if record.active:
            record.revoked_at = self._wall_clock()
            self.effects.credentials_revoked += 1
            device = self.devices.get(record.device_id)
            if device is not None and device.credential_id == credential_id:
                device.ready_since = None
            logger.info("revoked credential %s", credential_id[:12])
        return record

    # --- devices ------------------------------------------------------------------------

    def register_device(
        self, device_id: str, attributes: Mapping[str, str], ownership_token: str
    ) -> DeviceRecord:
        """Create the device record bound to the credential the token names (`RegisterThing`)."""
        credential_id = self._credential_by_token.get(_token_hash(ownership_token))
        credential = self.credentials.get(credential_id or "")
        if credential is None:
            raise CloudApiError(403, "invalid_ownership_token", "the ownership token is not valid")
        if device_id in self.devices:
            raise CloudApiError(409, "device_exists", f"device '{device_id}' is already registered")
        if credential.device_id != device_id:
            raise CloudApiError(
                403,
                "ownership_token_mismatch",
                f"the ownership token belongs to another device, not '{device_id}'",
            )
        if not credential.active:
            raise CloudApiError(403, "credential_revoked", "the credential has been revoked")
        if credential.ownership_token_used:
            raise CloudApiError(403, "ownership_token_used", "the ownership token was used")
        if self._clock() >= credential.ownership_token_expires:
            raise CloudApiError(403, "ownership_token_expired", "the ownership token expired")
        credential.ownership_token_used = True
        record = DeviceRecord(
            device_id=device_id,
            credential_id=credential.credential_id,
            attributes=dict(attributes),
            registered_at=self._wall_clock(),
        )
        self.devices[device_id] = record
        self.effects.registrations += 1
        self.registrations_per_device[device_id] += 1
        logger.info("registered device %s", device_id)
        return record

    def device(self, device_id: str) -> DeviceRecord:
        """The device record, after any check-in that became due."""
        record = self.devices.get(device_id)
        if record is None:
            raise CloudApiError(404, "device_not_found", f"device '{device_id}' is not registered")
        self._settle(record)
        return record

    def attach_policy(self, device_id: str, policy_name: str) -> DeviceRecord:
        """Attach a known policy to a registered device (idempotent)."""
        record = self.device(device_id)
        if policy_name not in self.config.policies:
            raise CloudApiError(404, "policy_not_found", f"no policy '{policy_name}'")
        if policy_name not in record.policies:
            record.policies.add(policy_name)
            self.effects.policy_attachments += 1
            logger.info("attached policy %s to device %s", policy_name, device_id)
        if record.ready_since is None and self._credential_active(record):
            record.ready_since = self._clock()
        return record

    def deregister_device(self, device_id: str) -> None:
        """Delete the device record and its policy attachments; its credential stays."""
        if self.devices.pop(device_id, None) is None:
            raise CloudApiError(404, "device_not_found", f"device '{device_id}' is not registered")
        self.effects.deregistrations += 1
        logger.info("deregistered device %s", device_id)

    # --- check-in -----------------------------------------------------------------------

    def check_in(
        self, device_id: str, credential_id: str, timestamp: int, signature: bytes
    ) -> DeviceRecord:
        """A device proves it holds its credential's private key and may connect."""
        record = self.devices.get(device_id)
        if record is None:
            raise CloudApiError(404, "device_not_found", f"device '{device_id}' is not registered")
        credential = self.credentials.get(credential_id)
        if credential is None or record.credential_id != credential_id:
            raise CloudApiError(403, "credential_not_bound", "the credential is not the device's")
        if not credential.active:
            raise CloudApiError(403, "credential_revoked", "the credential has been revoked")
        skew = abs(self._wall_clock().timestamp() - timestamp)
        if skew > self.config.checkin_clock_skew:
            raise CloudApiError(401, "stale_timestamp", "the check-in timestamp is too far off")
        message = checkin_message(device_id, credential_id, timestamp)
        if not verify_signature(credential.certificate, signature, message):
            raise CloudApiError(401, "invalid_signature", "the proof of possession is not valid")
        if not record.policies:
            raise CloudApiError(403, "no_policy", "no policy allows the device to connect")
        return self.record_checkin(record, self._wall_clock())

    def record_checkin(self, record: DeviceRecord, at: datetime) -> DeviceRecord:
        """Note that the device checked in at `at`."""
        record.last_checkin_at = at
        self.effects.checkins += 1
        logger.info("device %s checked in", record.device_id)
        return record

    def _credential_active(self, record: DeviceRecord) -> bool:
        credential = self.credentials.get(record.credential_id)
        return credential is not None and credential.active

    def _settle(self, record: DeviceRecord) -> None:
        # The automatic check-in stands for a real device coming online: it happens
        # `auto_checkin_delay` after the device became able to connect.
        delay = self.config.auto_checkin_delay
        if (
            delay is None
            or record.last_checkin_at is not None
            or record.ready_since is None
            or record.device_id in self.silent_devices
            or not self._credential_active(record)
        ):
            return
        now = self._clock()
        due = record.ready_since + delay
        if now >= due:
            self.record_checkin(record, self._wall_clock() - timedelta(seconds=now - due))

    # --- inspection ---------------------------------------------------------------------

    def device_as_wire(self, record: DeviceRecord) -> dict[str, object]:
        """The device as `GET /v1/devices/{id}` shows it."""
        credential = self.credentials.get(record.credential_id)
        return {
            "device_id": record.device_id,
            "credential_id": record.credential_id,
            "credential_status": "active" if credential and credential.active else "revoked",
            "attributes": record.attributes,
            "policies": sorted(record.policies),
            "registered_at": _iso(record.registered_at),
            "last_checkin_at": _iso(record.last_checkin_at),
        }

    def orphaned_credentials(self) -> list[str]:
        """Active credentials that no registered device uses."""
        bound = {d.credential_id for d in self.devices.values()}
        return sorted(
            c.credential_id
            for c in self.credentials.values()
            if c.active and c.credential_id not in bound
        )

    def snapshot(self) -> dict[str, object]:
        """Everything the cloud holds, without a secret (no token, key or certificate)."""
        for record in self.devices.values():
            self._settle(record)
        credentials: Iterable[CredentialRecord] = self.credentials.values()
        return {
            "devices": {d.device_id: self.device_as_wire(d) for d in self.devices.values()},
            "credentials": {c.credential_id: c.as_wire() for c in credentials},
            "orphaned_credentials": self.orphaned_credentials(),
            "registrations_per_device": dict(sorted(self.registrations_per_device.items())),
            "policies": sorted(self.config.policies),
            "side_effects": vars(self.effects).copy(),
        }
