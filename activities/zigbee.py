"""Activities of the Zigbee strategy, hosted by the edge worker whose coordinator the device
joins."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import activity

from adapters.zigbee import CoordinatorNotReady, InvalidInstallCode, ZigbeeInterviewFailed
from adapters.zigbee.port import ZigbeeCoordinatorPort
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from domain.zigbee import (
    ZigbeeConfiguration,
    ZigbeeDeviceInfo,
    ZigbeeMembership,
)
from strategies.zigbee import (
    ZigbeeActivity,
    ZigbeeConfigureOrder,
    ZigbeeDeviceRef,
    ZigbeeInspection,
    ZigbeeInterview,
    ZigbeeJoinOrder,
    ZigbeeStrategy,
)

T = TypeVar("T")

_DEFAULT_BUDGET = timedelta(minutes=3)


def _budget_seconds(fallback: timedelta = _DEFAULT_BUDGET) -> float:
    """How long this attempt may wait: its start-to-close timeout less a margin, so that
    the workflow sees the adapter's error (with its code) rather than a bare timeout."""
    total = (activity.info().start_to_close_timeout or fallback).total_seconds()
    return max(total - min(5.0, total * 0.25), 0.5)


async def _with_heartbeats(work: Awaitable[T], doing: str, every: float) -> T:
    """Await `work`, heartbeating meanwhile so cancellation and a lost worker are noticed."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            activity.heartbeat(doing)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ZigbeeActivities:
    """The steps of the Zigbee strategy on one edge worker.

    Args:
        coordinator: This gateway's coordinator.
        host_task_queue: This gateway's own task queue; detection returns it to pin the run.
        heartbeat_every: Seconds between heartbeats while waiting for a device.
        interview_timeout: Seconds one interview attempt may take.
    """

    def __init__(
        self,
        coordinator: ZigbeeCoordinatorPort,
        *,
        host_task_queue: str,
        heartbeat_every: float = 2.0,
        interview_timeout: float = 60.0,
    ) -> None:
        self._coordinator = coordinator
        self._host_task_queue = host_task_queue
        self._heartbeat_every = heartbeat_every
        self._interview_timeout = interview_timeout

    @activity.defn(name=ZigbeeActivity.DETECT.name)
    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """This gateway's coordinator is up with a network: report it and pin the run here."""
        network = await self._coordinator.network_status()
        if not network.ready or not network.formed:
            raise CoordinatorNotReady(
                f"the Zigbee coordinator on {network.radio} is not ready"
                + ("" if network.ready else " (radio not connected)")
                + ("" if network.formed or not network.ready else " (no network formed)"),
                details={"radio": network.radio},
            )
        attributes = {
            "radio": network.radio,
            "channel": str(network.channel),
            "pan_id": network.pan_id or "",
            "extended_pan_id": network.extended_pan_id or "",
            "coordinator_ieee": network.coordinator_ieee or "",
            "device_count": str(network.device_count),
            "capacity": str(network.capacity),
            "ieee": ZigbeeStrategy.ieee_of(device),
        }
        # Nothing is known of the device itself until it joins.
        return DetectedDevice(
            device_id=device.device_id,
            attributes=attributes,
            task_queue=self._host_task_queue,
        )

    @activity.defn(name=ZigbeeActivity.INSPECT.name)
    async def inspect(self, order: ZigbeeJoinOrder) -> ZigbeeInspection:
        """Facts for the pre-check: is the install code usable, is the device on the
        network already, is there room. Changes nothing."""
        problem: str | None = None
        if order.install_code is not None:
            try:
                self._coordinator.check_install_code(
                    order.install_code.get_secret_value(), order.ieee
                )
            except InvalidInstallCode as error:
                problem = error.message
        membership = await self._coordinator.membership(order.ieee)
        network = await self._coordinator.network_status()
        return ZigbeeInspection(
            install_code_problem=problem, membership=membership, network=network
        )

    @activity.defn(name=ZigbeeActivity.JOIN.name)
    async def join(self, order: ZigbeeJoinOrder) -> ZigbeeDeviceInfo:
        """Open the network for this device with its install code; wait until it joins.

        Waits almost up to the step's start-to-close timeout (ZIGBEE_JOIN_TIMEOUT then),
        heartbeating. A device an earlier attempt let in is not let in again.
        """
        if order.install_code is None:
            raise InvalidInstallCode("the request has no install code")
        if await self._coordinator.membership(order.ieee) is ZigbeeMembership.JOINED:
            return self._coordinator.device_info(order.ieee)
        return await _with_heartbeats(
            self._coordinator.permit_join(
                order.ieee, order.install_code.get_secret_value(), _budget_seconds()
            ),
            f"network open for {order.ieee}; waiting for it to join",
            self._heartbeat_every,
        )

    @activity.defn(name=ZigbeeActivity.INTERVIEW.name)
    async def interview(self, device: ZigbeeDeviceRef) -> ZigbeeInterview:
        """One interview attempt (zigpy's initialization), without re-joining.

        A device that does not answer is an outcome, not an error: the workflow decides
        whether to ask again, and says so.
        """
        timeout = min(self._interview_timeout, _budget_seconds())
        try:
            info = await _with_heartbeats(
                self._coordinator.interview(device.ieee, timeout),
                f"interviewing {device.ieee}",
                self._heartbeat_every,
            )
        except ZigbeeInterviewFailed as failure:
            if not failure.retryable:
                raise
            return ZigbeeInterview(failure=failure.message)
        return ZigbeeInterview(device=info)

    @activity.defn(name=ZigbeeActivity.READ_IDENTITY.name)
    async def read_identity(self, device: ZigbeeDeviceRef) -> ZigbeeDeviceInfo:
        """Read the Basic cluster's manufacturer and model afresh."""
        return await self._coordinator.verify_identity(device.ieee)

    @activity.defn(name=ZigbeeActivity.CONFIGURE.name)
    async def configure(self, order: ZigbeeConfigureOrder) -> ZigbeeConfiguration:
        """Bind the device's clusters to the coordinator and configure their reporting."""
        return await _with_heartbeats(
            self._coordinator.configure(order.ieee, order.rules),
            f"binding and configuring reporting of {order.ieee}",
            self._heartbeat_every,
        )

    @activity.defn(name=ZigbeeActivity.REMOVE.name)
    async def remove(self, device: ZigbeeDeviceRef) -> None:
        """Compensation: close the network to the device, ask it to leave and forget it."""
        await self._coordinator.close_permit(device.ieee)
        await _with_heartbeats(
            self._coordinator.remove(device.ieee),
            f"removing {device.ieee}",
            self._heartbeat_every,
        )

    def all(self) -> list[object]:
        """Every activity of this strategy, for `Worker(activities=...)`."""
        return [
            self.detect,
            self.inspect,
            self.join,
            self.interview,
            self.read_identity,
            self.configure,
            self.remove,
        ]
