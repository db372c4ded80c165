"""Inputs of a provisioning run: the request and the human-supplied credentials."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.device import DeviceDescriptor
from domain.secrets import WireSecret


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
