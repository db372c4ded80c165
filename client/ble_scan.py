"""A BLE scan for Improv devices nearby, on the same BLE backends as the edge gateways.

It imports bleak and bumble (through `adapters.ble`), so it is kept out of the SDK's
core: import it only where a radio is at hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from improv_ble_client.protocol import SERVICE_UUID

from adapters.ble import BleStack, VirtualBleRadio, open_ble_stack
from adapters.improv.advertisement import BLE_ADDRESS_HINT, BLE_NAME_HINT, ImprovAdvertisement
from client.ports import FoundDevice
from domain.device import DeviceDescriptor

_NOT_ID = re.compile(r"[^A-Za-z0-9._:-]+")


def _device_id(advertisement: ImprovAdvertisement) -> str:
    name = _NOT_ID.sub("-", advertisement.local_name or "").strip("-._:")[:128]
    return name or "ble-" + advertisement.address.replace(":", "").lower()


class ImprovBleScanner:
    """Finds Improv devices advertising nearby (a `DeviceScanner`).

    Args:
        stack: The BLE backend to listen on.
        site: Site put in the descriptors (the edge gateways that will provision them).
    """

    def __init__(self, stack: BleStack, *, site: str = "local") -> None:
        self._stack = stack
        self._site = site

    async def scan(self, timeout: float) -> list[FoundDevice]:
        heard: dict[str, ImprovAdvertisement] = {}

        def on_advertisement(device: BLEDevice, advertisement: AdvertisementData) -> None:
            if SERVICE_UUID in advertisement.service_uuids:
                heard[device.address] = ImprovAdvertisement.parse(device, advertisement)

        async with self._stack.scanner(on_advertisement, [SERVICE_UUID]):
            await asyncio.sleep(timeout)
        found = [self._found(advertisement) for advertisement in heard.values()]
        return sorted(found, key=lambda f: -(f.rssi if f.rssi is not None else -999))

    def _found(self, advertisement: ImprovAdvertisement) -> FoundDevice:
        hints = {BLE_ADDRESS_HINT: advertisement.address.upper()}
        if advertisement.local_name:
            hints[BLE_NAME_HINT] = advertisement.local_name
        state = advertisement.state.name if advertisement.state is not None else "unknown"
        return FoundDevice(
            descriptor=DeviceDescriptor(
                device_id=_device_id(advertisement),
                type="improv-device",
                vendor="unknown",
                capabilities=frozenset({"ble", "improv", "wifi"}),
                site=self._site,
                transport_hints=hints,
            ),
            rssi=advertisement.rssi,
            transport="ble",
            detail=f"Improv state {state}",
        )


@contextlib.asynccontextmanager
async def improv_scanner(
    backend: str, *, site: str = "local", radio: VirtualBleRadio | None = None
) -> AsyncIterator[ImprovBleScanner]:
    """An Improv scanner on `backend` (`bluez`, `bumble-hci:<transport>`, or `virtual`
    with the process's `radio`)."""
    async with open_ble_stack(backend, host_name="devprov-client", radio=radio) as stack:
        yield ImprovBleScanner(stack, site=site)
