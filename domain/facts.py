"""What devices report about themselves during a run."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DetectedDevice(BaseModel):
    """A device found by the detect step."""

    model_config = ConfigDict(frozen=True)

    device_id: str = Field(description="Identifier the device reports.")
    model: str = ""
    firmware: str = ""
    provisioned: bool = Field(
        default=False, description="Whether it is already configured for a network."
    )
    network_ssid: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    task_queue: str | None = Field(
        default=None,
        description=(
            "Host-specific task queue of the edge worker that found the device, when only "
            "that worker can reach it (its radio hears the device): every later step of "
            "the run is sent there."
        ),
    )


class NetworkJoin(BaseModel):
    """Evidence that a device joined its network."""

    model_config = ConfigDict(frozen=True)

    ssid: str
    address: str = Field(description="Address the device got on the network.")
    signal_dbm: int | None = None


class WifiLink(BaseModel):
    """Which network a Wi-Fi device is on, and what its station slots hold (no passphrase).

    Attributes:
        ssid: The network it is on now (None: on none).
        address: Its address there.
        station_ssid: The network of its station configuration (Shelly `sta`).
        station_enabled: Whether that station is enabled.
        fallback_ssid: The network of its fallback station (Shelly `sta1`).
        fallback_enabled: Whether the fallback is enabled.
    """

    model_config = ConfigDict(frozen=True)

    ssid: str | None = None
    address: str | None = None
    station_ssid: str | None = None
    station_enabled: bool = False
    fallback_ssid: str | None = None
    fallback_enabled: bool = False
