"""Activities of the HTTP Wi-Fi strategy, hosted by edge workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity

from activities.polling import give_up_at
from adapters.errors import (
    DeviceTimeout,
    DeviceUnreachable,
    MigrationJoinFailed,
    NetworkJoinPending,
)
from adapters.http_wifi.port import WifiSetupPort
from domain.activity_io import JoinCheck, NetworkAssignment, NetworkMove
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin, WifiLink
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

    @activity.defn(name=HttpWifiActivity.MOVE_NETWORK.name)
    async def move_network(self, assignment: NetworkAssignment) -> None:
        """Give a device in service its new network, its current one kept as fallback.

        Check before act: a retry after a write that went through finds the new network
        in the station slot and writes nothing (writing again would make the new network
        the fallback too, once the device is on it).
        """
        link = await self._device.wifi_link(assignment.device)
        if link.station_enabled and link.station_ssid == assignment.network.ssid:
            return
        await self._device.move_network(assignment.device, assignment.network)

    @activity.defn(name=HttpWifiActivity.CONFIRM_MOVED.name)
    async def confirm_moved(self, move: NetworkMove) -> NetworkJoin:
        """Poll until the device is on its new network.

        A device that leaves its network for another is out of reach until it is on one
        again. Back on its previous network, it did not join the new one:
        MIGRATION_JOIN_FAILED at once. Still nowhere when the step's time is nearly up:
        NETWORK_JOIN_TIMEOUT (the device may be lost).
        """
        loop = asyncio.get_running_loop()
        deadline = give_up_at(self._join_poll)
        subject = f"device '{move.device.device_id}'"
        while True:
            link = await self._link_or_none(move.device)
            if link is not None and link.ssid == move.ssid and link.address:
                return NetworkJoin(ssid=move.ssid, address=link.address)
            if link is not None and link.ssid == move.previous_ssid:
                raise MigrationJoinFailed(
                    f"{subject} did not join '{move.ssid}' and is back on its previous "
                    f"network '{move.previous_ssid}'",
                    details={"ssid": move.ssid, "previous_ssid": move.previous_ssid},
                )
            where = "out of reach" if link is None else f"on '{link.ssid or 'no network'}'"
            activity.heartbeat(f"{subject} is {where}")
            if loop.time() >= deadline:
                raise NetworkJoinPending(
                    f"{subject} is {where}: it did not join '{move.ssid}' in time",
                    details={"ssid": move.ssid, "previous_ssid": move.previous_ssid},
                )
            await asyncio.sleep(self._join_poll)

    @activity.defn(name=HttpWifiActivity.RETURN_TO_NETWORK.name)
    async def return_to_network(self, move: NetworkMove) -> None:
        """Compensation of a move: the device back on its previous network, its new
        station switched off (it then stays on its fallback, the previous network).

        Idempotent: a device whose station never took the new network, or is off already,
        only has to be seen on the previous network. A device that does not come back
        within the step's time is lost: DEVICE_UNREACHABLE, not retried (it had the
        whole step to come back), so that the run names it as a leftover.
        """
        loop = asyncio.get_running_loop()
        deadline = give_up_at(self._join_poll)
        subject = f"device '{move.device.device_id}'"
        while True:
            link = await self._link_or_none(move.device)
            if link is not None:
                moved = link.station_enabled and link.station_ssid == move.ssid
                if not moved and link.ssid == move.previous_ssid:
                    return
                if moved and link.ssid in (move.ssid, move.previous_ssid):
                    await self._device.disable_station(move.device)
            activity.heartbeat(f"waiting for {subject} on '{move.previous_ssid}'")
            if loop.time() >= deadline:
                raise DeviceUnreachable(
                    f"{subject} did not come back on its previous network "
                    f"'{move.previous_ssid}': it is on no network devprov reaches",
                    retryable=False,
                    details={"ssid": move.ssid, "previous_ssid": move.previous_ssid},
                )
            await asyncio.sleep(self._join_poll)

    async def _link_or_none(self, device: DeviceDescriptor) -> WifiLink | None:
        """The device's Wi-Fi link, or None while it is out of reach."""
        try:
            return await self._device.wifi_link(device)
        except (DeviceUnreachable, DeviceTimeout):
            return None

    def all(self) -> list[object]:
        """Every activity of this strategy, for `Worker(activities=...)`."""
        return [
            self.detect,
            self.read_state,
            self.apply_network,
            self.confirm_joined,
            self.reset,
            self.move_network,
            self.confirm_moved,
            self.return_to_network,
        ]
