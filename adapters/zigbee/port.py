"""The port of the `zigbee` family: what its activities need from a gateway's coordinator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.zigbee import (
    ReportingRule,
    ZigbeeConfiguration,
    ZigbeeDeviceInfo,
    ZigbeeMembership,
    ZigbeeNetwork,
)


class ZigbeeCoordinatorPort(Protocol):
    """The Zigbee coordinator of an edge worker (`adapters.zigbee.ZigbeeCoordinator`).

    IEEE addresses are `aa:bb:cc:dd:ee:ff:00:11` (other separators are accepted).
    Install codes are secrets: implementations never log them or put them in errors.
    """

    async def network_status(self) -> ZigbeeNetwork:
        """Whether the coordinator is ready, its network's channel, PAN ids and room."""
        ...

    async def membership(self, ieee: str) -> ZigbeeMembership:
        """Whether `ieee` is on the network and answers."""
        ...

    def device_info(self, ieee: str) -> ZigbeeDeviceInfo:
        """What the coordinator's table says about `ieee` (no radio traffic)."""
        ...

    def check_install_code(self, install_code: str, ieee: str) -> None:
        """Raise `InvalidInstallCode` unless the code is well formed with a valid CRC."""
        ...

    async def permit_join(self, ieee: str, install_code: str, timeout: float) -> ZigbeeDeviceInfo:
        """Open the network for this one device with its install code; wait until it joins."""
        ...

    async def close_permit(self, ieee: str) -> None:
        """Stop letting `ieee` in (the network closes when nobody else is let in)."""
        ...

    async def interview(self, ieee: str, timeout: float) -> ZigbeeDeviceInfo:
        """Interview a joined device (again, without re-joining, if it failed before)."""
        ...

    async def verify_identity(
        self, ieee: str, *, model: str | None = None, manufacturers: Sequence[str] = ()
    ) -> ZigbeeDeviceInfo:
        """Read the Basic cluster afresh; raise `ZigbeeDeviceMismatch` if it differs."""
        ...

    async def configure(self, ieee: str, rules: Sequence[ReportingRule]) -> ZigbeeConfiguration:
        """Bind clusters to the coordinator and configure attribute reporting."""
        ...

    async def remove(self, ieee: str) -> bool:
        """Leave request and removal from the coordinator (idempotent)."""
        ...
