"""The port of the ESP-IDF provisioning activities: what they need from a gateway's radio."""

from __future__ import annotations

from typing import Protocol

from adapters.esp_prov.adapter import EspDeviceCheck, EspSecurity, Heartbeat
from adapters.esp_prov.protocol import ScannedNetwork, VersionInfo, WifiStatus
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from domain.requests import NetworkCredentials


class EspProvisioningPort(Protocol):
    """ESP-IDF provisioning devices in BLE range of this gateway (`EspProvBleAdapter`)."""

    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Hear its advertisement; `DeviceUnreachable` when it is not heard."""
        ...

    async def read_version(self, device: DeviceDescriptor) -> VersionInfo:
        """Its `proto-ver`, without a secure session."""
        ...

    async def check(self, device: DeviceDescriptor, security: EspSecurity) -> EspDeviceCheck:
        """Open a secure session (proves the secret), read version, endpoints and status."""
        ...

    async def scan_networks(
        self, device: DeviceDescriptor, security: EspSecurity
    ) -> list[ScannedNetwork]:
        """The networks it hears, strongest first."""
        ...

    async def send_wifi_config(
        self, device: DeviceDescriptor, security: EspSecurity, network: NetworkCredentials
    ) -> None:
        """Send and apply the Wi-Fi configuration (safe to repeat)."""
        ...

    async def await_join(
        self,
        device: DeviceDescriptor,
        security: EspSecurity,
        ssid: str,
        *,
        timeout: float,
        heartbeat: Heartbeat | None = None,
    ) -> NetworkJoin:
        """Follow its station over a session until it joined `ssid`."""
        ...

    async def provision(
        self,
        device: DeviceDescriptor,
        security: EspSecurity,
        network: NetworkCredentials,
        *,
        timeout: float,
        heartbeat: Heartbeat | None = None,
    ) -> NetworkJoin:
        """Send, apply and follow the Wi-Fi configuration until it joined."""
        ...

    async def wifi_status(self, device: DeviceDescriptor, security: EspSecurity) -> WifiStatus:
        """Its station's state over a new session."""
        ...

    async def reset(self, device: DeviceDescriptor, security: EspSecurity) -> None:
        """Make it forget the credentials it was given (`prov-ctrl`)."""
        ...
