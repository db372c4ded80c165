"""Inputs of a provisioning run: the request and the human-supplied credentials."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.device import DeviceDescriptor
from domain.identifiers import TENANT
from domain.secrets import WireSecret

_SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class NetworkCredentials(BaseModel):
    """Wi-Fi credentials for a device; the passphrase is a secret and never shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ssid: str = Field(min_length=1, max_length=32, description="Network name (1-32 bytes).")
    passphrase: WireSecret = Field(
        description="WPA2/WPA3 passphrase, 8-63 characters; empty for an open network."
    )

    @field_validator("ssid")
    @classmethod
    def _ssid_bytes(cls, value: str) -> str:
        if len(value.encode()) > 32:
            raise ValueError("SSID must be at most 32 bytes in UTF-8")
        return value

    @field_validator("passphrase")
    @classmethod
    def _passphrase_length(cls, value: WireSecret) -> WireSecret:
        length = len(value.get_secret_value())
        if length != 0 and not 8 <= length <= 63:
            raise ValueError("passphrase must be 8 to 63 characters (or empty for an open network)")
        return value

    def summary(self) -> dict[str, str]:
        """What may be shown about these credentials: the SSID only."""
        return {"ssid": self.ssid, "passphrase": "**********"}


class ReprovisionPolicy(StrEnum):
    """What a provision request does to a device the registry shows in service (DPS-style
    re-provisioning policies; docs/registry.md#re-provisioning)."""

    NEVER = "never"
    """Refuse: 409 DEVICE_IN_SERVICE (the default)."""
    RESET = "reset"
    """One run: decommission the device by its family's plan, then provision it."""
    MIGRATE = "migrate"
    """Move it to a new network (and/or tenant) without a factory reset, rolling it back
    to its previous network if it does not join the new one."""


class ProvisionRequest(BaseModel):
    """Body of `POST /api/v1/devices/{device_id}/provision`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: DeviceDescriptor
    strategy: str | None = Field(
        default=None, description="Force a strategy by name instead of selecting one."
    )
    network: NetworkCredentials | None = Field(
        default=None,
        description="Network to join; when absent the run waits in PENDING_NETWORK.",
    )
    secrets: dict[str, WireSecret] = Field(
        default_factory=dict,
        description=(
            "Secrets of the device itself that its strategy needs, by name, e.g. "
            "`install_code` (Zigbee 3.0). Never shown in responses, events or logs."
        ),
    )

    reprovision: ReprovisionPolicy = Field(
        default=ReprovisionPolicy.NEVER,
        description=(
            "What to do when the device is in service already: `never` (409 "
            "DEVICE_IN_SERVICE), `reset` (decommission, then provision, in one run) or "
            "`migrate` (move it to `network` and/or `tenant` without a factory reset). "
            "A policy the device's strategy does not support is 422 "
            "REPROVISION_POLICY_UNSUPPORTED. Ignored for a device not in service."
        ),
    )
    tenant: str | None = Field(
        default=None,
        pattern=TENANT.pattern,
        description=(
            "With `reprovision: migrate` only, and an admin key: the tenant the device moves "
            "to once the migration succeeds."
        ),
    )

    @model_validator(mode="after")
    def _tenant_only_when_migrating(self) -> ProvisionRequest:
        if self.tenant is not None and self.reprovision is not ReprovisionPolicy.MIGRATE:
            raise ValueError("`tenant` is only taken with `reprovision: migrate`")
        return self

    @field_validator("secrets")
    @classmethod
    def _few_named_secrets(cls, value: dict[str, WireSecret]) -> dict[str, WireSecret]:
        if len(value) > 8:
            raise ValueError("at most 8 secrets")
        bad = sorted(name for name in value if not _SECRET_NAME.match(name))
        if bad:
            raise ValueError(f"secret names must be lowercase tokens: {', '.join(bad)}")
        if any(len(secret.get_secret_value()) > 512 for secret in value.values()):
            raise ValueError("a secret is at most 512 characters")
        return value

    def secret(self, name: str) -> str | None:
        """The value of secret `name`, if the request has it."""
        value = self.secrets.get(name)
        return value.get_secret_value() if value is not None else None


class RequestExample(BaseModel):
    """An example provision request of a device family: what a person may start from
    (the web console's templates). Its values are public examples, never real secrets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(description="What the example provisions, for people.")
    body: dict[str, Any] = Field(
        description=("Body of `POST /devices/{device_id}/provision`, `device.device_id` included.")
    )

    @property
    def device_id(self) -> str:
        """The device the example provisions."""
        device = self.body.get("device")
        return str(device.get("device_id", "")) if isinstance(device, dict) else ""
