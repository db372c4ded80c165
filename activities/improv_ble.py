"""Activities of the Improv BLE strategy, hosted by edge workers with a BLE radio."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio import activity

from adapters.errors import DeviceUnreachable, NetworkJoinPending
from adapters.improv.port import DeviceWebPort, ImprovOnboardingPort
from adapters.improv.web import WebReset
from domain.activity_io import NetworkAssignment
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from strategies.improv_ble import (
    PROVISIONED,
    ImprovBleActivity,
    ImprovCredentialsResult,
    ImprovOnlineCheck,
    ImprovRelease,
)

logger = logging.getLogger("devprov.activities.improv_ble")

_DEFAULT_BUDGET = timedelta(seconds=60)
_MARGIN_SECONDS = 1.0


def _budget() -> float:
    """Seconds this attempt may spend waiting, a little under its start-to-close timeout,
    so that it fails with its own error rather than a bare timeout."""
    timeout = activity.info().start_to_close_timeout or _DEFAULT_BUDGET
    return max(timeout.total_seconds() - _MARGIN_SECONDS, timeout.total_seconds() / 2)


def _heartbeat(doing: str) -> None:
    activity.heartbeat(doing)


class ImprovBleActivities:
    """The steps of the Improv BLE strategy on one gateway.

    Args:
        device_port: The gateway's Improv adapter (its BLE radio).
        web: The second channel: devices' web pages on the LAN.
        host_task_queue: This gateway's own task queue; detect returns it to pin the
            run here.
        web_poll_interval: Time between two visits of a device's web page.
    """

    def __init__(
        self,
        device_port: ImprovOnboardingPort,
        web: DeviceWebPort,
        *,
        host_task_queue: str,
        web_poll_interval: timedelta = timedelta(seconds=0.5),
    ) -> None:
        self._device = device_port
        self._web = web
        self._host_queue = host_task_queue
        self._web_poll = web_poll_interval.total_seconds()

    @activity.defn(name=ImprovBleActivity.DETECT.name)
    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Hear the device's advertisement; pin the run to this gateway."""
        found = await self._device.detect(device)
        return found.model_copy(update={"task_queue": self._host_queue})

    @activity.defn(name=ImprovBleActivity.READ_STATE.name)
    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        """Connect and read state, capabilities and device info for the pre-check."""
        return await self._device.read_state(device)

    @activity.defn(name=ImprovBleActivity.AWAIT_AUTHORIZATION.name)
    async def await_authorization(self, device: DeviceDescriptor) -> None:
        """Make the device identify itself, then wait for its button to be pressed.

        Waits almost up to the step's start-to-close timeout, heartbeating, and fails
        with IMPROV_AUTHORIZATION_TIMEOUT if nobody pressed it.
        """
        if await self._device.identify(device):
            activity.heartbeat("asked the device to identify itself")
        await self._device.wait_for_authorization(device, _budget(), _heartbeat)

    @activity.defn(name=ImprovBleActivity.SEND_CREDENTIALS.name)
    async def send_credentials(self, assignment: NetworkAssignment) -> ImprovCredentialsResult:
        """Give the device its Wi-Fi credentials and wait until it reports joining.

        Safe to retry: a device already provisioned or still joining is not sent the
        credentials again.
        """
        result = await self._device.provision(
            assignment.device, assignment.network, _heartbeat, timeout=_budget()
        )
        return ImprovCredentialsResult(
            redirect_url=result.redirect_url, credentials_sent=result.credentials_sent
        )

    @activity.defn(name=ImprovBleActivity.CONFIRM_ONLINE.name)
    async def confirm_online(self, check: ImprovOnlineCheck) -> NetworkJoin:
        """Confirm through the second channel: the device answers at its redirect URL.

        A device that gave no redirect URL can only be confirmed by its BLE state.
        """
        if check.redirect_url is None:
            state = await self._device.read_state(check.device)
            if state.attributes.get("improv_state") != PROVISIONED:
                raise NetworkJoinPending(
                    f"device '{check.device.device_id}' is "
                    f"{state.attributes.get('improv_state', 'in an unknown state')}, "
                    "not provisioned",
                    details={"device_id": check.device.device_id, "ssid": check.ssid},
                )
            return NetworkJoin(ssid=check.ssid, address="(no redirect URL; BLE state only)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(_budget() - 2 * self._web_poll, self._web_poll)
        while True:
            try:
                return await self._web.check(
                    check.redirect_url, device_id=check.device.device_id, ssid=check.ssid
                )
            except NetworkJoinPending as pending:
                activity.heartbeat(pending.message)
                if loop.time() >= deadline:
                    raise NetworkJoinPending(
                        f"device did not answer at its redirect URL in time: {pending.message}",
                        details=pending.details,
                    ) from pending
            await asyncio.sleep(self._web_poll)

    @activity.defn(name=ImprovBleActivity.RELEASE.name)
    async def release(self, release: ImprovRelease) -> None:
        """Compensation: drop the BLE connections; reset the device where it offers it.

        Improv has no command to forget credentials: a device that joined and offers
        no reset on its web page keeps its network (see docs/ble.md).
        """
        device = release.device
        redirect_url = release.redirect_url
        if redirect_url is None and release.credentials_may_have_arrived:
            # The credentials step may have reached the device before it was cancelled
            # or lost its answer: ask the device whether it took them, and where it is.
            redirect_url = await self._device.settled_redirect_url(
                device, _heartbeat, timeout=_budget()
            )
        reset: WebReset | None = None
        if redirect_url is not None:
            reset = await self._web.factory_reset(redirect_url, device_id=device.device_id)
            if reset is WebReset.NO_ANSWER:
                await self._ensure_not_provisioned(device, redirect_url)
        dropped = await self._device.release(device)
        logger.info(
            "device %s: released (%d BLE connection(s) dropped, %s)",
            device.device_id,
            dropped,
            reset or "no device-side reset",
        )

    async def _ensure_not_provisioned(self, device: DeviceDescriptor, redirect_url: str) -> None:
        """A silent web page proves nothing: the device may have joined and left range.
        Only its own BLE state tells whether it kept the credentials.

        Raises:
            DeviceUnreachable: It says it is provisioned, so it keeps the network and
                cannot be reset from here (retried; in the end a named leftover). Its
                BLE errors (out of range: retryable) propagate the same way.
        """
        state = await self._device.read_state(device)
        if state.attributes.get("improv_state") == PROVISIONED:
            raise DeviceUnreachable(
                f"device '{device.device_id}' reports over BLE that it joined a network, "
                "but its web page does not answer: it cannot be reset from here; "
                "factory-reset it by hand",
                details={"device_id": device.device_id},
            )

    def all(self) -> list[object]:
        """Every activity of this strategy, for `Worker(activities=...)`."""
        return [
            self.detect,
            self.read_state,
            self.await_authorization,
            self.send_credentials,
            self.confirm_online,
            self.release,
        ]
