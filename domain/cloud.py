"""What devprov knows about a device in its vendor cloud: keys, credentials, registration.

Modelled on fleet provisioning by claim (AWS IoT `CreateCertificateFromCsr` +
`RegisterThing`, Azure DPS): a claim is exchanged for a per-device certificate and an
ownership token, the token registers the device record, a policy lets it connect, and the
device checks in once it is online. See docs/vendor-cloud.md.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.device import DEVICE_ID_PATTERN
from domain.secrets import WireSecret


class DeviceKeyPair(BaseModel):
    """A device's key pair and the certificate signing request (CSR) made from it.

    On real hardware the private key is generated on the device (or its secure element)
    and never leaves it; only the CSR does. Simulated devices have no secure element, so
    the provisioning run makes the key for them and hands it over with the certificate.
    The key is a `WireSecret`: kept in payloads, masked in reprs, never logged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    key_algorithm: str = Field(description="e.g. `EC-P256`.")
    csr_pem: str = Field(description="PKCS#10 request, subject CN = device id; not secret.")
    private_key_pem: WireSecret = Field(description="PKCS#8 PEM; secret.")


class IssuedCredential(BaseModel):
    """A per-device certificate issued from a claim, with the token that registers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    credential_id: str = Field(description="Cloud id of the certificate (its SHA-256).")
    certificate_pem: str = Field(description="X.509 certificate; public, not secret.")
    not_after: datetime = Field(description="End of the certificate's validity.")
    ownership_token: WireSecret = Field(
        description="Proves to `register_device` that we hold this credential; short-lived."
    )
    ownership_token_expires_at: datetime


class CloudCredential(BaseModel):
    """A credential as the cloud lists it (no secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credential_id: str
    device_id: str
    active: bool = Field(description="False once revoked.")
    issued_at: datetime
    revoked_at: datetime | None = None


class RegisteredDevice(BaseModel):
    """The device record the cloud created (`RegisterThing`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    credential_id: str
    attributes: dict[str, str] = Field(default_factory=dict)
    registered_at: datetime


class PolicyAttachment(BaseModel):
    """A policy attached to a registered device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    policy_name: str


class CloudDeviceStatus(BaseModel):
    """What the cloud holds about a device; `registered=False` when it holds nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    registered: bool
    credential_id: str | None = None
    credential_active: bool = False
    attributes: dict[str, str] = Field(default_factory=dict)
    policies: frozenset[str] = frozenset()
    registered_at: datetime | None = None
    last_checkin_at: datetime | None = Field(
        default=None, description="When the device last checked in with its credential."
    )

    @property
    def checked_in(self) -> bool:
        """Whether the device has checked in since it was registered."""
        return self.last_checkin_at is not None

    def has_policy(self, policy_name: str) -> bool:
        """Whether `policy_name` is attached to the device."""
        return policy_name in self.policies
