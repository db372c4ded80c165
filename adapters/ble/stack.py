"""Choosing a gateway's BLE backend from configuration, and opening it.

| `DEVPROV_BLE_BACKEND`          | what the gateway uses                                          |
|--------------------------------|----------------------------------------------------------------|
| `virtual` (default here)       | a virtual controller on the process's `VirtualBleRadio`        |
| `bluez` or `bluez:<hciN>`      | bleak's own backend: BlueZ over D-Bus (all or one adapter)     |
| `bumble-hci:<transport>`       | bumble driving an HCI controller, e.g. `usb:0`,                |
|                                | `serial:/dev/ttyUSB0,1000000`, `tcp-client:127.0.0.1:9000`     |

Either way the adapters see a `BleStack`: bleak scanners and clients on that backend.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner

from adapters.ble.bumble_backend import BumbleBleakClient, BumbleBleakScanner
from adapters.ble.bumble_host import BumbleCentral, BumbleHost, static_address_for
from adapters.ble.errors import BleRadioUnavailable
from adapters.ble.virtual_radio import VirtualBleRadio

logger = logging.getLogger("devprov.adapters.ble")


class BleBackendKind(StrEnum):
    """The kinds of BLE backend an edge worker can use."""

    VIRTUAL = "virtual"
    BLUEZ = "bluez"
    BUMBLE_HCI = "bumble-hci"


class UnknownBleBackend(ValueError):
    """A BLE backend setting that names no known backend."""


@dataclass(frozen=True)
class BleBackendSpec:
    """A parsed BLE backend setting.

    Attributes:
        kind: Which backend.
        argument: `bluez`: the adapter (`hci0`), empty for BlueZ's default;
            `bumble-hci`: the bumble transport (`usb:0`, `serial:/dev/ttyUSB0`).
    """

    kind: BleBackendKind
    argument: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.argument}" if self.argument else self.kind.value


_FORMS = "'virtual', 'bluez', 'bluez:<adapter>' or 'bumble-hci:<transport>' (e.g. usb:0)"


def parse_ble_backend(setting: str) -> BleBackendSpec:
    """Parse a BLE backend setting; raises `UnknownBleBackend` naming the valid forms."""
    text = setting.strip()
    kind_text, _, argument = text.partition(":")
    try:
        kind = BleBackendKind(kind_text.lower())
    except ValueError:
        raise UnknownBleBackend(f"unknown BLE backend {setting!r}; use {_FORMS}") from None
    if kind is BleBackendKind.VIRTUAL and argument:
        raise UnknownBleBackend(
            f"the virtual BLE backend takes no argument: {setting!r}; use {_FORMS}"
        )
    if kind is BleBackendKind.BUMBLE_HCI and not argument:
        raise UnknownBleBackend(f"'bumble-hci' needs a transport: {setting!r}; use {_FORMS}")
    return BleBackendSpec(kind, argument)


@dataclass
class BleStack:
    """One gateway's BLE radio as bleak sees it: scanners and clients on one backend.

    Build it with `open_ble_stack`; adapters only call `scanner()` and `client()`.
    """

    spec: BleBackendSpec
    address: str | None = None
    """The gateway's own BLE address, when the backend knows it."""
    _scanner_backend: type[BaseBleakScanner] | None = None
    _client_backend: type[BaseBleakClient] | None = None
    _backend_kwargs: dict[str, Any] = field(default_factory=dict)

    def scanner(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
    ) -> BleakScanner:
        """A scanner (start/stop or `async with`) reporting advertisements to the callback."""
        if self._scanner_backend is None:
            return BleakScanner(detection_callback, service_uuids, **self._bluez_kwargs())
        return BleakScanner(
            detection_callback,
            service_uuids,
            backend=self._scanner_backend,
            **self._backend_kwargs,
        )

    def client(
        self,
        device: BLEDevice,
        *,
        disconnected_callback: Callable[[BleakClient], None] | None = None,
        timeout: float,
        gatt_timeout: float,
    ) -> BleakClient:
        """A client for `device` (not yet connected).

        Args:
            device: As found by a scanner of this stack.
            disconnected_callback: Called when the device drops the link.
            timeout: Seconds allowed to connect (and discover services).
            gatt_timeout: Seconds allowed for each GATT request, where the backend
                supports it (BlueZ applies its own).
        """
        if self._client_backend is None:
            return BleakClient(
                device,
                disconnected_callback,
                timeout=timeout,
                **self._bluez_kwargs(),
            )
        return BleakClient(
            device,
            disconnected_callback,
            timeout=timeout,
            backend=self._client_backend,
            gatt_timeout=gatt_timeout,
            **self._backend_kwargs,
        )

    def _bluez_kwargs(self) -> dict[str, Any]:
        if self.spec.kind is BleBackendKind.BLUEZ and self.spec.argument:
            return {"bluez": {"adapter": self.spec.argument}}
        return {}


@contextlib.asynccontextmanager
async def open_ble_stack(
    setting: BleBackendSpec | str,
    *,
    host_name: str,
    radio: VirtualBleRadio | None = None,
) -> AsyncIterator[BleStack]:
    """Open the gateway's BLE radio for the block's duration.

    Args:
        setting: A `BleBackendSpec` or its text (see the module docstring).
        host_name: The gateway's name: names its controller and derives its address.
        radio: The process's virtual radio; required by the `virtual` backend.

    Raises:
        UnknownBleBackend: The setting names no backend.
        BleRadioUnavailable: The radio cannot be opened (no virtual radio given, the
            HCI transport does not open, the controller does not answer).
    """
    spec = parse_ble_backend(setting) if isinstance(setting, str) else setting
    if spec.kind is BleBackendKind.BLUEZ:
        logger.info("BLE backend for %s: BlueZ (%s)", host_name, spec.argument or "default adapter")
        yield BleStack(spec)
        return
    central = await _open_central(spec, host_name=host_name, radio=radio)
    try:
        logger.info("BLE backend for %s: %s, address %s", host_name, spec, central.address)
        yield BleStack(
            spec,
            address=central.address,
            _scanner_backend=BumbleBleakScanner,
            _client_backend=BumbleBleakClient,
            _backend_kwargs={"central": central},
        )
    finally:
        await central.close()


async def _open_central(
    spec: BleBackendSpec, *, host_name: str, radio: VirtualBleRadio | None
) -> BumbleCentral:
    if spec.kind is BleBackendKind.VIRTUAL:
        if radio is None:
            raise BleRadioUnavailable(
                "the virtual BLE backend needs the process's virtual radio; "
                "it exists in the embedded stack and in tests only",
                retryable=False,
                details={"backend": str(spec)},
            )
        return await radio.open_central(host_name)
    return BumbleCentral(await open_hci_host(spec.argument, host_name=host_name))


async def open_hci_host(transport: str, *, host_name: str) -> BumbleHost:
    """A powered-on bumble host on the HCI controller behind `transport` (e.g. `usb:0`)."""
    # Imported here: the transports pull in optional USB/serial libraries.
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.transport import open_transport

    details = {"backend": f"bumble-hci:{transport}"}
    try:
        hci_transport = await open_transport(transport)
    except Exception as exc:
        raise BleRadioUnavailable(
            f"cannot open the HCI transport '{transport}': {type(exc).__name__}: {exc}",
            retryable=False,
            details=details,
        ) from exc
    device = Device.with_hci(
        host_name,
        Address(static_address_for(host_name)),
        hci_transport.source,
        hci_transport.sink,
    )
    host = BumbleHost(device, name=host_name, on_close=hci_transport.close)
    try:
        await device.power_on()
    except Exception as exc:
        await host.close()
        raise BleRadioUnavailable(
            f"the HCI controller on '{transport}' did not start: {type(exc).__name__}: {exc}",
            retryable=False,
            details=details,
        ) from exc
    return host
