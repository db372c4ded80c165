"""A bleak backend on a bumble host: `BleakScanner(backend=...)` and `BleakClient(backend=...)`.

bleak picks a platform backend (BlueZ over D-Bus on Linux) unless given `backend=`;
these classes implement bleak's backend interfaces on a `BumbleCentral` instead, so the
same bleak code talks to a virtual controller on a `LocalLink` or to a USB/serial HCI
controller driven by bumble. The central is passed as an extra keyword argument, which
bleak forwards to the backend:

    BleakScanner(callback, [service_uuid], backend=BumbleBleakScanner, central=central)
    BleakClient(ble_device, backend=BumbleBleakClient, central=central, gatt_timeout=5)

What the backend adds on top of bumble, as a platform backend would:

- advertisements of one address are merged (a device may spread its name and its
  service data over alternating advertisements), like BlueZ's device properties;
- the ATT MTU is exchanged after connecting (BlueZ does it by itself), so commands
  longer than 20 bytes fit in one write;
- every GATT operation has a timeout (`gatt_timeout`), raising `TimeoutError`;
- a link that drops during an operation raises `BleakError` instead of leaking
  bumble's cancellation of the pending request; ATT errors raise
  `BleakGATTProtocolError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import (
    AdvertisementData,
    AdvertisementDataCallback,
    BaseBleakScanner,
)
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, hci
from bumble.core import UUID, AdvertisingData, BaseBumbleError, PhysicalTransport
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy, ServiceProxy

from adapters.ble.bumble_host import BumbleCentral

logger = logging.getLogger("devprov.adapters.ble")

_T = TypeVar("_T")

DEFAULT_GATT_TIMEOUT = 10.0
"""Seconds a GATT request may take when the client is not given `gatt_timeout`."""

PREFERRED_MTU = 247
"""ATT MTU asked for after connecting (BlueZ and most phones ask for 247 or more)."""

_DEFAULT_MTU = 23

_UUID_LIST_TYPES = (
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA_TYPES = (
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
)


def bleak_uuid(value: UUID) -> str:
    """A bumble UUID in bleak's form: 128-bit, lowercase, with dashes."""
    return str(uuid_module.UUID(bytes=bytes(reversed(value.uuid_128_bytes))))


@dataclass(frozen=True)
class BumbleAdvertiser:
    """`BLEDevice.details` of devices found by `BumbleBleakScanner`."""

    address: hci.Address


@dataclass
class _MergedAdvertisement:
    """Everything heard from one address during a scan."""

    local_name: str | None = None
    service_uuids: list[str] = field(default_factory=list)
    service_data: dict[str, bytes] = field(default_factory=dict)
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    tx_power: int | None = None

    def update(self, data: AdvertisingData) -> None:
        name = data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.Type.SHORTENED_LOCAL_NAME
        )
        if isinstance(name, str):
            self.local_name = name
        for ad_type in _UUID_LIST_TYPES:
            for uuids in data.get_all(ad_type):
                if isinstance(uuids, list):
                    for item in uuids:
                        text = bleak_uuid(item)
                        if text not in self.service_uuids:
                            self.service_uuids.append(text)
        for ad_type in _SERVICE_DATA_TYPES:
            for entry in data.get_all(ad_type):
                if isinstance(entry, tuple):
                    service, payload = entry
                    if isinstance(service, UUID) and isinstance(payload, bytes):
                        self.service_data[bleak_uuid(service)] = payload
        for entry in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA):
            if isinstance(entry, tuple):
                company, payload = entry
                if isinstance(company, int) and isinstance(payload, bytes):
                    self.manufacturer_data[company] = payload
        tx_power = data.get(AdvertisingData.Type.TX_POWER_LEVEL)
        if isinstance(tx_power, int):
            self.tx_power = tx_power

    def as_bleak(self, rssi: int, advertisement: Advertisement) -> AdvertisementData:
        return AdvertisementData(
            local_name=self.local_name,
            manufacturer_data=dict(self.manufacturer_data),
            service_data=dict(self.service_data),
            service_uuids=list(self.service_uuids),
            tx_power=self.tx_power,
            rssi=rssi,
            platform_data=(advertisement,),
        )


def _central_from(kwargs: dict[str, Any]) -> BumbleCentral:
    central = kwargs.get("central")
    if not isinstance(central, BumbleCentral):
        raise BleakError("the bumble backend needs `central=<BumbleCentral>`")
    return central


class BumbleBleakScanner(BaseBleakScanner):
    """bleak scanner backend listening through a `BumbleCentral`.

    Keyword Args:
        central: The gateway's radio.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._central = _central_from(kwargs)
        self._active = scanning_mode != "passive"
        self._merged: dict[str, _MergedAdvertisement] = {}
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        self._merged = {}
        await self._central.start_listening(self._on_advertisement, active=self._active)
        self._listening = True

    async def stop(self) -> None:
        if self._listening:
            self._listening = False
            await self._central.stop_listening(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        key = str(advertisement.address)
        merged = self._merged.setdefault(key, _MergedAdvertisement())
        merged.update(advertisement.data)
        if not self.is_allowed_uuid(merged.service_uuids):
            return
        data = merged.as_bleak(advertisement.rssi, advertisement)
        device = self.create_or_update_device(
            key, key, merged.local_name, BumbleAdvertiser(advertisement.address), data
        )
        self.call_detection_callbacks(device, data)


def _peer_address(address_or_ble_device: BLEDevice | str) -> hci.Address:
    if isinstance(address_or_ble_device, BLEDevice):
        details = address_or_ble_device.details
        if isinstance(details, BumbleAdvertiser):
            return details.address
        address_or_ble_device = address_or_ble_device.address
    try:
        return hci.Address.from_string_for_transport(address_or_ble_device, PhysicalTransport.LE)
    except (ValueError, BaseBumbleError) as exc:
        raise BleakError(f"not a BLE address: {address_or_ble_device!r}") from exc


def _property_names(properties: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


class BumbleBleakClient(BaseBleakClient):
    """bleak client backend connecting through a `BumbleCentral`.

    Keyword Args:
        central: The gateway's radio.
        gatt_timeout: Seconds each GATT request may take (default 10).
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._central = _central_from(kwargs)
        gatt_timeout = kwargs.get("gatt_timeout")
        self._gatt_timeout = (
            float(gatt_timeout) if isinstance(gatt_timeout, int | float) else DEFAULT_GATT_TIMEOUT
        )
        self._peer_address = _peer_address(address_or_ble_device)
        self._name = (
            address_or_ble_device.name
            if isinstance(address_or_ble_device, BLEDevice) and address_or_ble_device.name
            else str(self._peer_address)
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else _DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # ------------------------------------------------------------------ connection

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover every service, characteristic and descriptor."""
        if pair:
            logger.debug("%s: pairing is not supported by the bumble backend; ignored", self._name)
        timeout = float(kwargs.get("timeout", self._timeout))
        try:
            connection = await self._central.connect(self._peer_address, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no connection to {self._peer_address} within {timeout:g} s"
            ) from None
        except BaseBumbleError as exc:
            raise BleakError(f"connection to {self._peer_address} failed: {exc}") from exc
        self._connection = connection
        self._disconnecting = False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            await self._gatt("MTU exchange", peer.request_mtu(PREFERRED_MTU))
            await self._gatt("service discovery", peer.discover_all())  # type: ignore[no-untyped-call]
            self.services = self._service_collection(peer.services)
        except BaseException:
            await self.disconnect()
            raise

    def _on_disconnection(self, reason: int) -> None:
        expected = self._disconnecting
        self._connection = None
        self._peer = None
        logger.debug(
            "%s: disconnected (%s)",
            self._name,
            hci.HCI_Constant.error_name(reason),  # type: ignore[no-untyped-call]
        )
        if not expected and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        with contextlib.suppress(BaseBumbleError, TimeoutError):
            async with asyncio.timeout(self._timeout):
                await connection.disconnect()
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    async def unpair(self) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    # ------------------------------------------------------------------ GATT

    def _require_peer(self, operation: str) -> Peer:
        if self._peer is None:
            raise BleakError(f"not connected to {self._peer_address} ({operation})")
        return self._peer

    async def _gatt(self, operation: str, request: Awaitable[_T]) -> _T:
        """Await one GATT request with a timeout, translating bumble's failures."""
        task = asyncio.current_task()
        try:
            async with asyncio.timeout(self._gatt_timeout):
                try:
                    return await request
                except asyncio.CancelledError:
                    if task is not None and task.cancelling():
                        raise
                    # bumble cancels the pending request when the link drops.
                    raise BleakError(
                        f"disconnected from {self._peer_address} during {operation}"
                    ) from None
        except TimeoutError:
            raise TimeoutError(
                f"{operation} on {self._peer_address}: no answer within {self._gatt_timeout:g} s"
            ) from None
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    def _service_collection(self, services: list[ServiceProxy]) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in services:
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    _property_names(int(characteristic.properties)),
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            bleak_uuid(descriptor.type),
                            bleak_characteristic,
                        )
                    )
        return collection

    @staticmethod
    def _characteristic(characteristic: BleakGATTCharacteristic) -> CharacteristicProxy[bytes]:
        proxy = characteristic.obj
        if not isinstance(proxy, CharacteristicProxy):
            raise BleakError(f"characteristic {characteristic.uuid} is not from this backend")
        return proxy

    @staticmethod
    def _descriptor(descriptor: BleakGATTDescriptor) -> DescriptorProxy:
        proxy = descriptor.obj
        if not isinstance(proxy, DescriptorProxy):
            raise BleakError(f"descriptor {descriptor.uuid} is not from this backend")
        return proxy

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        operation = f"read of {characteristic.uuid}"
        peer = self._require_peer(operation)
        value = await self._gatt(operation, peer.read_value(self._characteristic(characteristic)))
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        operation = f"read of descriptor {descriptor.uuid}"
        peer = self._require_peer(operation)
        value = await self._gatt(operation, peer.read_value(self._descriptor(descriptor)))
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        operation = f"write to {characteristic.uuid}"
        peer = self._require_peer(operation)
        await self._gatt(
            operation,
            peer.write_value(
                self._characteristic(characteristic), bytes(data), with_response=response
            ),
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        operation = f"write to descriptor {descriptor.uuid}"
        peer = self._require_peer(operation)
        await self._gatt(
            operation,
            peer.write_value(self._descriptor(descriptor), bytes(data), with_response=True),
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        operation = f"subscription to {characteristic.uuid}"
        peer = self._require_peer(operation)

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        await self._gatt(operation, peer.subscribe(self._characteristic(characteristic), deliver))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        operation = f"unsubscription from {characteristic.uuid}"
        peer = self._require_peer(operation)
        await self._gatt(operation, peer.unsubscribe(self._characteristic(characteristic)))
