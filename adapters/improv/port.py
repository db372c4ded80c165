"""Ports of the Improv BLE activities: onboarding over BLE, and the device's web page."""

from __future__ import annotations

from typing import Protocol

from improv_ble_client.protocol import State

from adapters.improv.adapter import ImprovProvisioning
from adapters.improv.session import Heartbeat
from adapters.improv.web import WebReset
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from domain.requests import NetworkCredentials


class ImprovOnboardingPort(Protocol):
    """An Improv Wi-Fi device in BLE range of this gateway (`ImprovBleAdapter`)."""

    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Hear the device's advertisement; `DeviceUnreachable` when it is not heard."""
        ...

    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        """Connect and read state, capabilities and device info."""
        ...

    async def identify(self, device: DeviceDescriptor) -> bool:
        """Make it blink or beep; False if it cannot."""
        ...

    async def wait_for_authorization(
        self, device: DeviceDescriptor, timeout: float, heartbeat: Heartbeat | None = None
    ) -> State:
        """Wait for its button to be pressed (at once if it needs no authorization)."""
        ...

    async def provision(
        self,
        device: DeviceDescriptor,
        network: NetworkCredentials,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> ImprovProvisioning:
        """Hand it the credentials and wait until it joined (never twice)."""
        ...

    async def settled_redirect_url(
        self,
        device: DeviceDescriptor,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> str | None:
        """Where it answers if it took credentials (waiting while it still joins)."""
        ...

    async def release(self, device: DeviceDescriptor) -> int:
        """Drop this gateway's connections to it."""
        ...


class DeviceWebPort(Protocol):
    """A provisioned device's web page, at its redirect URL (`DeviceWebPage`)."""

    async def check(self, url: str, *, device_id: str, ssid: str) -> NetworkJoin:
        """Proof it answers there; `NetworkJoinPending` while it does not."""
        ...

    async def factory_reset(self, url: str, *, device_id: str) -> WebReset:
        """Reset it through its page if offered; what came of it."""
        ...
