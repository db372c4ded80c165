"""Finding one Improv device among the advertisements a gateway hears."""

from __future__ import annotations

from dataclasses import dataclass

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from improv_ble_client.errors import InvalidCommand
from improv_ble_client.protocol import (
    SERVICE_DATA_UUID,
    SERVICE_UUID,
    Capabilities,
    ImprovServiceData,
    State,
)

from domain.device import DeviceDescriptor

BLE_ADDRESS_HINT = "ble_address"
"""`transport_hints` key: the device's BLE address (e.g. printed on its label)."""

BLE_NAME_HINT = "ble_name"
"""`transport_hints` key: the local name the device advertises (default: its device id)."""


@dataclass(frozen=True)
class ImprovDeviceMatch:
    """Which advertisement belongs to the requested device: by address, else by name.

    Only advertisements of the Improv service are considered.
    """

    address: str | None = None
    name: str | None = None

    @classmethod
    def for_device(cls, device: DeviceDescriptor) -> ImprovDeviceMatch:
        """From the device's `ble_address` / `ble_name` hints; its id is the default name."""
        address = device.transport_hints.get(BLE_ADDRESS_HINT)
        name = device.transport_hints.get(BLE_NAME_HINT)
        if address:
            return cls(address=address.upper(), name=name)
        return cls(name=name or device.device_id)

    def matches(self, ble_device: BLEDevice, advertisement: AdvertisementData) -> bool:
        if SERVICE_UUID not in advertisement.service_uuids:
            return False
        if self.address is not None and ble_device.address.upper() != self.address:
            return False
        return self.name is None or advertisement.local_name == self.name

    def __str__(self) -> str:
        if self.address is not None:
            return f"address {self.address}"
        return f"name '{self.name}'"


@dataclass(frozen=True)
class ImprovAdvertisement:
    """An Improv device as heard in its advertisement.

    `state` and `capabilities` come from the service data (Improv 2.0); they are `None`
    for devices that do not advertise it or advertise it malformed.
    """

    ble_device: BLEDevice
    local_name: str | None
    rssi: int
    state: State | None
    capabilities: Capabilities | None

    @property
    def address(self) -> str:
        return self.ble_device.address

    @classmethod
    def parse(cls, ble_device: BLEDevice, advertisement: AdvertisementData) -> ImprovAdvertisement:
        state: State | None = None
        capabilities: Capabilities | None = None
        raw = advertisement.service_data.get(SERVICE_DATA_UUID)
        if raw is not None:
            try:
                service_data = ImprovServiceData.from_bytes(raw)
            except InvalidCommand:
                pass
            else:
                state, capabilities = service_data.state, service_data.capabilities
        return cls(
            ble_device=ble_device,
            local_name=advertisement.local_name,
            rssi=advertisement.rssi,
            state=state,
            capabilities=capabilities,
        )
