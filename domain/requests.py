"""Inputs of a provisioning run: the request and the human-supplied credentials, and the
report of an installer's browser that onboarded the device itself (`client-ble`: it
talks Improv to the device over Web Bluetooth and sends it the Wi-Fi credentials the
installer typed; devprov only hears how it went, never the passphrase, and confirms what
it says out of band)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.device import DeviceDescriptor, check_device_address
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


class Transport(StrEnum):
    """How a run reaches the device for its device-side steps."""

    GATEWAY = "gateway"
    """An edge worker near the device (its radio or its LAN) runs them (the default)."""
    CLIENT_BLE = "client-ble"
    """The installer's browser does, over Web Bluetooth (the web console): the run waits
    for its report, then confirms out of band (docs/ble.md#onboarding-from-a-phone-client-ble)."""


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
    transport: Transport = Field(
        default=Transport.GATEWAY,
        description=(
            "`gateway` (an edge worker near the device runs its steps) or `client-ble` (the "
            "installer's browser onboards it over Web Bluetooth and reports to the run; the "
            "Wi-Fi credentials are typed into that page, never sent to the API: no `network`). "
            "A transport the device's strategy does not offer is 422 TRANSPORT_UNSUPPORTED."
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

    @model_validator(mode="after")
    def _no_network_through_the_api_for_the_browser(self) -> ProvisionRequest:
        if self.transport is Transport.CLIENT_BLE and self.network is not None:
            raise ValueError(
                "a `client-ble` run takes no `network`: the installer types the credentials "
                "into the console, which gives them to the device over Bluetooth"
            )
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


# ---------------------------------------------------------------- client-ble reports


class ClientBleOutcome(StrEnum):
    """How the browser's session with the device ended."""

    PROVISIONED = "provisioned"
    """The device took the credentials and reports Improv state `provisioned`."""
    DEVICE_ERROR = "device_error"
    """The device reported an Improv error (`error` says which)."""
    ALREADY_PROVISIONED = "already_provisioned"
    """The device was provisioned before the browser sent anything: nothing was sent."""


class ImprovErrorName(StrEnum):
    """Improv's error state, by the names of its specification."""

    INVALID_RPC_PACKET = "invalid_rpc_packet"
    UNKNOWN_RPC_COMMAND = "unknown_rpc_command"
    UNABLE_TO_CONNECT = "unable_to_connect"
    NOT_AUTHORIZED = "not_authorized"
    BAD_HOSTNAME = "bad_hostname"
    UNKNOWN_ERROR = "unknown_error"


class ClientBleReport(BaseModel):
    """Body of `POST .../provision/client-ble-result` (the update of the same name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: ClientBleOutcome
    ssid: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="The network the browser gave the device (required when `provisioned`).",
    )
    redirect_url: str | None = Field(
        default=None,
        max_length=512,
        description=(
            "Where the device says it answers now (Improv's RPC result): the run checks "
            "the device there, from a gateway of its site, before it succeeds."
        ),
    )
    error: ImprovErrorName | None = Field(
        default=None, description="The device's Improv error (required with `device_error`)."
    )
    device_name: str | None = Field(
        default=None, max_length=64, description="The BLE name of the device the browser used."
    )
    firmware: str | None = Field(
        default=None,
        max_length=160,
        description="What the device said of itself (Improv device info), for people.",
    )

    @field_validator("ssid")
    @classmethod
    def _ssid_bytes(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) > 32:
            raise ValueError("SSID must be at most 32 bytes in UTF-8")
        return value

    @field_validator("redirect_url")
    @classmethod
    def _followable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_device_address(value)
            except ValueError:
                raise ValueError(
                    "the redirect URL must be an http:// or https:// URL with a host, "
                    "without user info, query or fragment"
                ) from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> ClientBleReport:
        if self.outcome is ClientBleOutcome.PROVISIONED and self.ssid is None:
            raise ValueError("a `provisioned` report names the `ssid` the device was given")
        if self.outcome is ClientBleOutcome.DEVICE_ERROR and self.error is None:
            raise ValueError("a `device_error` report names the device's `error`")
        return self


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
