"""Fake edge activities for workflow tests: same activity names, an in-memory device."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.activity_io import JoinCheck, NetworkAssignment, NetworkMove
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.facts import DetectedDevice, NetworkJoin
from strategies.http_wifi import HttpWifiActivity


@dataclass
class FakeWifiDevice:
    """A device whose behaviour a test sets, and which records what was done to it."""

    device_id: str
    firmware: str = "1.4.2"
    absent_detections: int = 0
    """The first N detections find nothing (DEVICE_UNREACHABLE)."""
    already_provisioned: bool = False
    good_passphrase: str = "correct-horse-battery"
    confirm_error: ErrorCode | None = None
    block_confirm: bool = False
    detections: int = 0
    applied: list[str] = field(default_factory=list)
    resets: int = 0
    configured_ssid: str | None = None
    fallback_ssid: str | None = None
    passphrase_ok: bool = False
    audible_from: set[str] | None = None
    """Gateways (host task queues) that hear the device; None: every gateway."""
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    """(activity, gateway) of every activity run, in order."""
    held: set[str] = field(default_factory=set)
    """Activities (`HttpWifiActivity` names) that wait, heartbeating, while listed here:
    the run stays in their step until a test releases them."""

    def activities(self, gateway: str | None = None) -> list[object]:
        """Fake activities as run by `gateway` (a host task queue), if any.

        A gateway's detection returns its own queue, which pins the run to it.
        """
        device = self

        async def record() -> None:
            name = activity.info().activity_type
            device.calls.append((name, gateway))
            while name in device.held:
                activity.heartbeat()
                await asyncio.sleep(0.05)

        @activity.defn(name=HttpWifiActivity.DETECT.name)
        async def detect(descriptor: DeviceDescriptor) -> DetectedDevice:
            await record()
            device.detections += 1
            deaf = device.audible_from is not None and gateway not in device.audible_from
            if deaf or device.detections <= device.absent_detections:
                raise ApplicationError(
                    "no answer from the device", type=ErrorCode.DEVICE_UNREACHABLE.value
                )
            return DetectedDevice(
                device_id=device.device_id, firmware=device.firmware, task_queue=gateway
            )

        @activity.defn(name=HttpWifiActivity.READ_STATE.name)
        async def read_state(descriptor: DeviceDescriptor) -> DetectedDevice:
            await record()
            return DetectedDevice(
                device_id=device.device_id,
                firmware=device.firmware,
                provisioned=device.already_provisioned,
                network_ssid="old-net" if device.already_provisioned else None,
            )

        @activity.defn(name=HttpWifiActivity.APPLY_NETWORK.name)
        async def apply_network(assignment: NetworkAssignment) -> None:
            await record()
            device.applied.append(assignment.network.ssid)
            device.configured_ssid = assignment.network.ssid
            device.passphrase_ok = (
                assignment.network.passphrase.get_secret_value() == device.good_passphrase
            )

        @activity.defn(name=HttpWifiActivity.CONFIRM_JOINED.name)
        async def confirm_joined(check: JoinCheck) -> NetworkJoin:
            await record()
            while device.block_confirm:
                activity.heartbeat()
                await asyncio.sleep(0.1)
            if device.confirm_error is not None:
                raise ApplicationError(
                    "the device never joined",
                    type=device.confirm_error.value,
                    non_retryable=True,
                )
            if not device.passphrase_ok:
                raise ApplicationError(
                    f"network '{check.ssid}' refused the passphrase",
                    type=ErrorCode.CREDENTIALS_REJECTED.value,
                    non_retryable=True,
                )
            return NetworkJoin(ssid=check.ssid, address="10.77.0.9")

        @activity.defn(name=HttpWifiActivity.RESET.name)
        async def reset(descriptor: DeviceDescriptor) -> None:
            await record()
            device.resets += 1
            device.configured_ssid = None
            device.fallback_ssid = None

        @activity.defn(name=HttpWifiActivity.MOVE_NETWORK.name)
        async def move_network(assignment: NetworkAssignment) -> None:
            await record()
            if device.configured_ssid != assignment.network.ssid:
                device.fallback_ssid = device.configured_ssid
                device.configured_ssid = assignment.network.ssid
            device.applied.append(assignment.network.ssid)

        @activity.defn(name=HttpWifiActivity.CONFIRM_MOVED.name)
        async def confirm_moved(move: NetworkMove) -> NetworkJoin:
            await record()
            if device.confirm_error is not None:
                raise ApplicationError(
                    "the device did not join", type=device.confirm_error.value, non_retryable=True
                )
            return NetworkJoin(ssid=move.ssid, address="10.77.0.9")

        @activity.defn(name=HttpWifiActivity.RETURN_TO_NETWORK.name)
        async def return_to_network(move: NetworkMove) -> None:
            await record()
            device.configured_ssid = move.previous_ssid

        return [
            detect,
            read_state,
            apply_network,
            confirm_joined,
            reset,
            move_network,
            confirm_moved,
            return_to_network,
        ]


@dataclass
class FakeWifiFleet:
    """Many fake devices behind one set of activities, dispatched by device id."""

    devices: dict[str, FakeWifiDevice] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    peak_active: int = 0

    def add(self, device_id: str, **behaviour: object) -> FakeWifiDevice:
        device = FakeWifiDevice(device_id=device_id, **behaviour)  # type: ignore[arg-type]
        self.devices[device_id] = device
        return device

    def activities(self) -> list[object]:
        """Activities that act on the device named in their input."""
        fleet = self
        by_device: dict[str, dict[str, Any]] = {}

        def target(name: str, device_id: str) -> Any:
            # Looked up per call: devices may be added after the worker started.
            if device_id not in by_device:
                by_device[device_id] = {
                    getattr(fn, "__temporal_activity_definition").name: fn
                    for fn in fleet.devices[device_id].activities()
                }
            return by_device[device_id][name]

        @activity.defn(name=HttpWifiActivity.DETECT.name)
        async def detect(descriptor: DeviceDescriptor) -> DetectedDevice:
            fleet.active.add(descriptor.device_id)
            fleet.peak_active = max(fleet.peak_active, len(fleet.active))
            result: DetectedDevice = await target(
                HttpWifiActivity.DETECT.name, descriptor.device_id
            )(descriptor)
            return result

        @activity.defn(name=HttpWifiActivity.READ_STATE.name)
        async def read_state(descriptor: DeviceDescriptor) -> DetectedDevice:
            result: DetectedDevice = await target(
                HttpWifiActivity.READ_STATE.name, descriptor.device_id
            )(descriptor)
            return result

        @activity.defn(name=HttpWifiActivity.APPLY_NETWORK.name)
        async def apply_network(assignment: NetworkAssignment) -> None:
            await target(HttpWifiActivity.APPLY_NETWORK.name, assignment.device.device_id)(
                assignment
            )

        @activity.defn(name=HttpWifiActivity.CONFIRM_JOINED.name)
        async def confirm_joined(check: JoinCheck) -> NetworkJoin:
            result: NetworkJoin = await target(
                HttpWifiActivity.CONFIRM_JOINED.name, check.device.device_id
            )(check)
            fleet.active.discard(check.device.device_id)
            return result

        @activity.defn(name=HttpWifiActivity.RESET.name)
        async def reset(descriptor: DeviceDescriptor) -> None:
            await target(HttpWifiActivity.RESET.name, descriptor.device_id)(descriptor)
            fleet.active.discard(descriptor.device_id)

        return [detect, read_state, apply_network, confirm_joined, reset]
