"""The `esp-prov-ble` edge capability: a gateway's BLE radio and the ESP-IDF provisioning
activities.

The radio comes from `DEVPROV_BLE_BACKEND` (see `adapters.ble.stack`): BlueZ on a real
gateway, a bumble HCI dongle, or a controller on a virtual BLE link of the process,
which the embedded stack and the tests put into the `SimulatedWorld` under
`esp-prov-ble` (the simulated ESP32s advertise there).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from activities.esp_prov_ble import EspProvBleActivities
from adapters.ble import BleBackendKind, VirtualBleRadio, open_ble_stack, parse_ble_backend
from adapters.esp_prov import EspProvBleAdapter
from worker.capabilities.contract import EdgeContext, SimulatedWorld, WorldKey

logger = logging.getLogger("devprov.worker.edge")

CAPABILITY = "esp-prov-ble"
VIRTUAL_ESP_RADIO = WorldKey[VirtualBleRadio](CAPABILITY)
"""The virtual BLE link where simulated ESP32s advertise."""


def share_virtual_esp_radio(world: SimulatedWorld, radio: VirtualBleRadio) -> None:
    """Give the edge workers of this process `radio` (simulated ESP32s live on it)."""
    world.share(VIRTUAL_ESP_RADIO, radio)


@contextlib.asynccontextmanager
async def _radio_for(context: EdgeContext) -> AsyncIterator[VirtualBleRadio | None]:
    if parse_ble_backend(context.settings.ble.backend).kind is not BleBackendKind.VIRTUAL:
        yield None
        return
    shared = context.world.get(VIRTUAL_ESP_RADIO)
    if shared is not None:
        yield shared
        return
    logger.warning(
        "edge %s/%s: BLE backend 'virtual' without simulated ESP32s in this process: "
        "it will hear nothing. On a gateway set DEVPROV_BLE_BACKEND=bluez or "
        "bumble-hci:<transport>",
        context.site,
        context.host,
    )
    async with VirtualBleRadio() as private:
        yield private


@contextlib.asynccontextmanager
async def esp_prov_ble_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """ESP-IDF provisioning devices in BLE range of this gateway."""
    settings = context.settings
    async with (
        _radio_for(context) as radio,
        open_ble_stack(settings.ble.backend, host_name=context.host, radio=radio) as stack,
    ):
        adapter = EspProvBleAdapter(stack, scan_timeout=settings.ble.scan_timeout_seconds)
        yield EspProvBleActivities(adapter, host_task_queue=context.host_task_queue).all()
