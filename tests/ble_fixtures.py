"""Fixtures for tests over the virtual BLE link: a radio, simulated Improv devices, a gateway.

Every fixture cleans up what it starts; `ble_radio` also fails the test if a task it
created is still pending afterwards, or the link still carries a host.
Import the fixtures into a conftest to use them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bumble.utils import AsyncRunner

from adapters.ble import BleStack, VirtualBleRadio, open_ble_stack
from adapters.improv import ImprovBleAdapter, ImprovTimeouts
from domain.device import DeviceDescriptor
from simulators.improv_ble import (
    ImprovDeviceFaults,
    ImprovDeviceFleet,
    ImprovDeviceSpec,
    RunningImprovControl,
    start_improv_control,
)

BULB = "improv-bulb"
"""Needs its button pressed (authorization times out after 5 s)."""
PLUG = "improv-plug"
"""Has no button: always authorized."""
GATEWAY = "gw1"

SCAN_TIMEOUT = 0.5
TIMEOUTS = ImprovTimeouts(connect=1.0, gatt=1.0, result=2.0, heartbeat_every=0.2)


def improv_device(device_id: str = BULB, **hints: str) -> DeviceDescriptor:
    """The descriptor a caller would send for a simulated Improv device."""
    return DeviceDescriptor(
        device_id=device_id,
        type="wifi-light",
        vendor="esphome",
        capabilities=frozenset({"ble", "improv", "wifi"}),
        transport_hints=hints,
    )


_BLE_CODE = (
    "/bumble/",
    "/bleak/",
    "/adapters/ble/",
    "/adapters/improv/",
    "/simulators/improv_ble/",
)


def _runs_ble_code(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return any(part in filename for part in _BLE_CODE)


def _pending_tasks() -> set[asyncio.Task[object]]:
    """Pending tasks running the BLE stack, the Improv adapter or the simulated devices."""
    return {task for task in asyncio.all_tasks() if not task.done() and _runs_ble_code(task)}


@pytest.fixture
async def ble_radio() -> AsyncIterator[VirtualBleRadio]:
    """A virtual BLE link; the test fails if anything on it outlives the test."""
    before = _pending_tasks()
    radio = VirtualBleRadio()
    try:
        yield radio
    finally:
        await radio.close()
        for _ in range(5):
            await asyncio.sleep(0)
        leaked = _pending_tasks() - before - {asyncio.current_task()}
        assert radio.addresses == {}, f"hosts left on the link: {radio.addresses}"
        assert not leaked, f"tasks leaked by the test: {leaked}"
        assert not AsyncRunner.running_tasks, "bumble tasks still running"


@pytest.fixture
def improv_specs() -> list[ImprovDeviceSpec]:
    """A bulb with a button and a plug without one, both joining almost at once."""
    return [
        ImprovDeviceSpec(device_id=BULB, authorization_timeout=5.0, join_delay=0.05),
        ImprovDeviceSpec(
            device_id=PLUG,
            join_delay=0.05,
            faults=ImprovDeviceFaults(auto_authorize=True),
        ),
    ]


@pytest.fixture
async def improv_fleet(
    ble_radio: VirtualBleRadio, improv_specs: list[ImprovDeviceSpec]
) -> AsyncIterator[ImprovDeviceFleet]:
    """The simulated devices, advertising on the link."""
    async with ImprovDeviceFleet(ble_radio, improv_specs) as fleet:
        yield fleet


@pytest.fixture
async def improv_web(improv_fleet: ImprovDeviceFleet) -> AsyncIterator[RunningImprovControl]:
    """The control API and the devices' web pages on loopback (their redirect URLs)."""
    control = await start_improv_control(improv_fleet)
    try:
        yield control
    finally:
        await control.close()


@pytest.fixture
async def ble_stack(ble_radio: VirtualBleRadio) -> AsyncIterator[BleStack]:
    """Gateway `gw1`'s radio: a central on the virtual link."""
    async with open_ble_stack("virtual", host_name=GATEWAY, radio=ble_radio) as stack:
        yield stack


@pytest.fixture
def improv_adapter(ble_stack: BleStack) -> ImprovBleAdapter:
    """The adapter of gateway `gw1`, with short scan and GATT timeouts."""
    return ImprovBleAdapter(ble_stack, scan_timeout=SCAN_TIMEOUT, timeouts=TIMEOUTS)
