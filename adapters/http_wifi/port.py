"""The port of the `http-wifi` family: what its activities need from a Wi-Fi device."""

from __future__ import annotations

from typing import Protocol

from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin, WifiLink
from domain.requests import NetworkCredentials


class WifiSetupPort(Protocol):
    """A device in set-up mode that can be told which Wi-Fi network to join."""

    async def identify(self, device: DeviceDescriptor) -> DetectedDevice:
        """Find the device and read who it is; raises `DeviceUnreachable` if absent."""
        ...

    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        """Read the device's identity and current network configuration."""
        ...

    async def apply_network(self, device: DeviceDescriptor, network: NetworkCredentials) -> None:
        """Give the device its network credentials (idempotent for equal credentials)."""
        ...

    async def network_status(self, device: DeviceDescriptor, ssid: str) -> NetworkJoin:
        """Return proof of joining `ssid`.

        Raises `NetworkJoinPending` while joining and `CredentialsRejected` when the
        network refused the passphrase.
        """
        ...

    async def reset(self, device: DeviceDescriptor) -> None:
        """Return the device to set-up mode (idempotent)."""
        ...

    async def move_network(self, device: DeviceDescriptor, network: NetworkCredentials) -> None:
        """Give a device on a network another one, keeping the current one as its
        fallback (idempotent)."""
        ...

    async def wifi_link(self, device: DeviceDescriptor) -> WifiLink:
        """Which network the device is on and what its station slots hold."""
        ...

    async def disable_station(self, device: DeviceDescriptor) -> None:
        """Switch the station off: the device uses its fallback station (idempotent)."""
        ...


class ClientCertificatePort(Protocol):
    """A device that makes its own TLS client key and takes the certificate signed for it.

    The private key never leaves the device: only a certificate signing request does.
    """

    async def certificate_signing_request(self, device: DeviceDescriptor) -> str:
        """A PEM CSR for the device's key; the device makes the key on the first call and
        keeps it, so asking again (a retried step) names the same key."""
        ...

    async def install_client_certificate(
        self, device: DeviceDescriptor, certificate_pem: str
    ) -> None:
        """Store the certificate signed from the device's CSR (idempotent)."""
        ...
