"""Activities of the HTTP Wi-Fi strategy, hosted by edge workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity

from activities.polling import give_up_at
from adapters.errors import NetworkJoinPending
from adapters.http_wifi.port import WifiSetupPort
from domain.activity_io import JoinCheck, NetworkAssignment
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from strategies.http_wifi import HttpWifiActivity


class HttpWifiActivities:
    """The steps of the HTTP Wi-Fi strategy on one edge worker.

    Args:
        device_port: How this worker talks to devices in set-up mode.
        join_poll_interval: Time between two status reads while a device joins.
    """

    def __init__(
        self, device_port: WifiSetupPort, join_poll_interval: timedelta = timedelta(seconds=0.5)
    ) -> None:
        self._device = device_port
        self._join_poll = join_poll_interval.total_seconds()

    @activity.defn(name=HttpWifiActivity.DETECT.name)
    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Find the device and read who it says it is."""
        return await self._device.identify(device)

    @activity.defn(name=HttpWifiActivity.READ_STATE.name)
    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        """Read identity and network configuration for the pre-check rules."""
        return await self._device.read_state(device)

    @activity.defn(name=HttpWifiActivity.APPLY_NETWORK.name)
    async def apply_network(self, assignment: NetworkAssignment) -> None:
        """Write the Wi-Fi credentials (the adapter skips an identical rewrite)."""
        await self._device.apply_network(assignment.device, assignment.network)

    @activity.defn(name=HttpWifiActivity.CONFIRM_JOINED.name)
    async def confirm_joined(self, check: JoinCheck) -> NetworkJoin:
        """Poll the device until it reports an address on the network.

        Heartbeats on every poll so that cancellation reaches it; gives up with
        NETWORK_JOIN_TIMEOUT just before its start-to-close deadline so that the
        workflow sees the device's last status rather than a bare timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = give_up_at(self._join_poll)
        while True:
            try:
                return await self._device.network_status(check.device, check.ssid)
            except NetworkJoinPending as pending:
                activity.heartbeat(pending.message)
                if loop.time() >= deadline:
                    raise NetworkJoinPending(
                        f"device did not join '{check.ssid}' in time: {pending.message}",
                        details=pending.details,
                    ) from pending
            await asyncio.sleep(self._join_poll)

    @activity.defn(name=HttpWifiActivity.RESET.name)
    async def reset(self, device: DeviceDescriptor) -> None:
        """Compensation: put the device back in set-up mode."""
        await self._device.reset(device)

    def all(self) -> list[object]:
        """Every activity of this strategy, for `Worker(activities=...)`."""
        return [self.detect, self.read_state, self.apply_network, self.confirm_joined, self.reset]
