"""What the client-side adapters offer the coordinator and the UIs.

Like the backend's ports (`adapters/<family>/port.py`), these are small protocols: a UI asks
a `DeviceScanner` for devices nearby and a `CredentialsSource` for Wi-Fi credentials,
and never touches bleak, NetworkManager or a keychain itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.device import DeviceDescriptor
from domain.requests import NetworkCredentials


@dataclass(frozen=True)
class FoundDevice:
    """A provisionable device a scan found.

    Attributes:
        descriptor: What to send in a provision request (type, vendor, hints).
        rssi: Signal strength in dBm, when the transport reports it.
        transport: How it was found, e.g. `ble`.
        detail: A human note, e.g. the Improv state it advertises.
    """

    descriptor: DeviceDescriptor
    rssi: int | None
    transport: str
    detail: str = ""


class DeviceScanner(Protocol):
    """Finds provisionable devices near this machine."""

    async def scan(self, timeout: float) -> list[FoundDevice]:
        """Listen for `timeout` seconds; the devices found, strongest signal first."""
        ...


@dataclass(frozen=True)
class CredentialsRequest:
    """A run asks for Wi-Fi credentials.

    Attributes:
        device_id: The device being provisioned.
        rejected: Why the previous credentials failed, when they did (ask for others).
        previous_ssid: The network of the previous credentials, if any.
    """

    device_id: str
    rejected: str | None = None
    previous_ssid: str | None = None


class CredentialsSource(Protocol):
    """Supplies Wi-Fi credentials: from the OS, a file, a person."""

    async def credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        """Credentials for the request, or None when this source has none to offer."""
        ...

    def forget(self) -> None:
        """Stop offering the credentials given so far."""
        ...
