"""What a caller tells devprov about a device."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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
        address = value.get(ADDRESS_HINT)
        if address is not None:
            check_device_address(address)
        return value


ADDRESS_HINT = "address"
"""The hint naming the base URL of a device's local API."""


def check_device_address(address: str) -> None:
    """Refuse an address no gateway should follow, before any request: only
    `http(s)://host[:port][/path]`, without user info, query or fragment (the gateway
    then checks the host against its site's allow-list).

    Raises:
        ValueError: Why the address is refused (it is not repeated: it may hold a secret).
    """
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ValueError("the address hint is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the address hint must be an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise ValueError("the address hint may not carry user info (user:password@)")
    if parts.query or parts.fragment or "?" in address or "#" in address:
        raise ValueError("the address hint may not carry a query or a fragment")
    if any(ord(c) < 33 or ord(c) == 127 for c in address):
        raise ValueError("the address hint may not hold spaces or control characters")
