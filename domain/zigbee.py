"""What a Zigbee coordinator reports about its network and the devices on it.

Pure models shared by the Zigbee adapter, its activities and the Zigbee strategy.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

_IEEE_HEX = re.compile(r"^[0-9a-f]{16}$")


def normalize_ieee(text: str) -> str:
    """An IEEE (EUI-64) address as `aa:bb:cc:dd:ee:ff:00:11`.

    Accepts colons, dashes, spaces or nothing between the bytes, and a `0x` prefix.

    Raises:
        ValueError: `text` is not 8 bytes of hex.
    """
    cleaned = re.sub(r"[\s:.-]", "", text.strip().lower())
    cleaned = cleaned.removeprefix("0x")
    if not _IEEE_HEX.match(cleaned):
        raise ValueError("an IEEE address is 8 bytes of hex, e.g. 00:17:88:01:0b:1c:2d:01")
    return ":".join(cleaned[i : i + 2] for i in range(0, 16, 2))


class ZigbeeNetwork(BaseModel):
    """The coordinator's network as an edge worker sees it."""

    model_config = ConfigDict(frozen=True)

    radio: str = Field(description="Radio kind and port, e.g. `znp:/dev/ttyUSB0`.")
    ready: bool = Field(description="Connected to the radio with a running network.")
    formed: bool
    coordinator_ieee: str | None = None
    channel: int | None = None
    pan_id: str | None = Field(default=None, description="16-bit PAN id, `0x1A2B`.")
    extended_pan_id: str | None = None
    device_count: int = Field(default=0, description="Devices on the network, not the coordinator.")
    capacity: int = Field(description="Devices this coordinator is configured to take.")

    @property
    def has_room(self) -> bool:
        return self.device_count < self.capacity


class ZigbeeMembership(StrEnum):
    """Whether an IEEE address is on the coordinator's network."""

    ABSENT = "absent"
    """Not in the coordinator's device table."""
    JOINED = "joined"
    """In the table and it answers."""
    UNRESPONSIVE = "unresponsive"
    """In the table but it does not answer: a stale entry (e.g. factory-reset since)."""


class ZigbeeEndpoint(BaseModel):
    """One application endpoint found by the interview."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: int
    profile_id: int | None = None
    device_type: int | None = None
    in_clusters: list[int] = Field(default_factory=list)
    out_clusters: list[int] = Field(default_factory=list)


class ZigbeeDeviceInfo(BaseModel):
    """A device on the network, as far as the coordinator knows it."""

    model_config = ConfigDict(frozen=True)

    ieee: str
    nwk: str = Field(description="Short network address, `0x1A2B`.")
    interviewed: bool = Field(description="Descriptors and Basic cluster were read.")
    manufacturer: str | None = None
    model: str | None = None
    logical_type: str | None = Field(default=None, description="`router` or `end_device`.")
    endpoints: list[ZigbeeEndpoint] = Field(default_factory=list)

    def has_cluster(self, cluster_id: int) -> bool:
        return any(cluster_id in endpoint.in_clusters for endpoint in self.endpoints)


class ReportingRule(BaseModel):
    """Bind one server cluster to the coordinator and have one attribute reported."""

    model_config = ConfigDict(frozen=True)

    cluster_id: int
    attribute: str = Field(description="Attribute name as zigpy defines it, e.g. `on_off`.")
    min_interval: int = Field(ge=0, le=0xFFFF, description="Seconds.")
    max_interval: int = Field(ge=0, le=0xFFFF, description="Seconds.")
    reportable_change: int = Field(default=1, ge=0)


class ConfiguredCluster(BaseModel):
    """One cluster bound to the coordinator with its attribute reporting configured."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: int
    cluster_id: int
    cluster: str = Field(description="Cluster name, e.g. `on_off`.")
    attribute: str


class ZigbeeConfiguration(BaseModel):
    """What `configure` set up on a device."""

    model_config = ConfigDict(frozen=True)

    ieee: str
    clusters: list[ConfiguredCluster] = Field(default_factory=list)
    skipped: list[int] = Field(
        default_factory=list, description="Clusters of the plan the device does not have."
    )
