"""What a caller tells devprov about a device."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.identifiers import DEVICE_ID, SITE

DEVICE_ID_PATTERN = DEVICE_ID.pattern
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class DeviceDescriptor(BaseModel):
    """Identity and metadata of a device to provision; strategies are selected from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(pattern=DEVICE_ID_PATTERN, description="Stable device identifier.")
    type: str = Field(min_length=1, max_length=64, description="Device family, e.g. `wifi-relay`.")
    vendor: str = Field(min_length=1, max_length=64, description="Vendor, e.g. `shelly`.")
    model: str = Field(default="", max_length=128)
    capabilities: frozenset[str] = Field(
        default_factory=frozenset,
        description="What the device can do or speak, e.g. `wifi`, `http-rpc`.",
    )
    site: str = Field(
        default="local",
        pattern=SITE.pattern,
        description="Site whose edge workers can reach the device.",
    )
    transport_hints: dict[str, str] = Field(
        default_factory=dict,
        description="Transport details such as `address` (base URL of a local HTTP API).",
    )

    @field_validator("type", "vendor")
    @classmethod
    def _lowercase_token(cls, value: str) -> str:
        lowered = value.lower()
        if not _TOKEN.match(lowered):
            raise ValueError("must be a lowercase token: letters, digits, '.', '_' or '-'")
        return lowered

    @field_validator("capabilities")
    @classmethod
    def _capability_tokens(cls, value: frozenset[str]) -> frozenset[str]:
        lowered = frozenset(item.lower() for item in value)
        bad = sorted(item for item in lowered if not _TOKEN.match(item))
        if bad:
            raise ValueError(f"invalid capability names: {', '.join(bad)}")
        if len(lowered) > 64:
            raise ValueError("at most 64 capabilities")
        return lowered

    @field_validator("transport_hints")
    @classmethod
    def _small_hints(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 16 or any(len(k) > 64 or len(v) > 512 for k, v in value.items()):
            raise ValueError("at most 16 hints, keys up to 64 and values up to 512 characters")
        return value
