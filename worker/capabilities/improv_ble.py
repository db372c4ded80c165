"""The `improv-ble` edge capability: a gateway's BLE radio and the Improv BLE activities.

The radio comes from `DEVPROV_BLE_BACKEND` (see `adapters.ble.stack`): BlueZ on a real
gateway, a bumble HCI dongle, or a controller on the process's virtual BLE link, which
the embedded stack and the tests put into the `SimulatedWorld` under `improv-ble`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from activities.improv_ble import ImprovBleActivities
from adapters.ble import BleBackendKind, VirtualBleRadio, open_ble_stack, parse_ble_backend
from adapters.improv import DeviceWebPage, ImprovBleAdapter
from worker.capabilities.contract import EdgeContext, SimulatedWorld, WorldKey

logger = logging.getLogger("devprov.worker.edge")

CAPABILITY = "improv-ble"
VIRTUAL_BLE_RADIO = WorldKey[VirtualBleRadio](CAPABILITY)
"""The process's virtual BLE link, where simulated Improv devices advertise."""

_WEB_TIMEOUT_SECONDS = 5.0


def virtual_ble_radio(world: SimulatedWorld) -> VirtualBleRadio | None:
    """The process's virtual BLE radio, if the simulated world has one."""
    return world.get(VIRTUAL_BLE_RADIO)


def share_virtual_ble_radio(world: SimulatedWorld, radio: VirtualBleRadio) -> None:
    """Give the edge workers of this process `radio` (simulated devices live on it)."""
    world.share(VIRTUAL_BLE_RADIO, radio)


@contextlib.asynccontextmanager
async def _radio_for(context: EdgeContext) -> AsyncIterator[VirtualBleRadio | None]:
    spec = parse_ble_backend(context.settings.ble.backend)
    if spec.kind is not BleBackendKind.VIRTUAL:
        yield None
        return
    shared = virtual_ble_radio(context.world)
    if shared is not None:
        yield shared
        return
    logger.warning(
        "edge %s/%s: BLE backend 'virtual' without simulated devices in this process: "
        "it will hear nothing. On a gateway set DEVPROV_BLE_BACKEND=bluez or "
        "bumble-hci:<transport>",
        context.site,
        context.host,
    )
    async with VirtualBleRadio() as private:
        yield private


@contextlib.asynccontextmanager
async def improv_ble_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Improv Wi-Fi devices in BLE range of this gateway."""
    settings = context.settings
    async with (
        _radio_for(context) as radio,
        open_ble_stack(settings.ble.backend, host_name=context.host, radio=radio) as stack,
        # The device's web page: only where the site allows, never through a proxy.
        context.outbound_policy().client(timeout=_WEB_TIMEOUT_SECONDS) as http,
    ):
        adapter = ImprovBleAdapter(stack, scan_timeout=settings.ble.scan_timeout_seconds)
        activities = ImprovBleActivities(
            adapter, DeviceWebPage(http), host_task_queue=context.host_task_queue
        )
        yield activities.all()
