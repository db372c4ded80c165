"""An Improv device as Chrome's Bluetooth emulation shows it to a page, driven over the
Chrome DevTools Protocol (`BluetoothEmulation`, on a browser-level session), with the
device chooser answered through `DeviceAccess` (on the page's session).

The device behind it is a `HandheldImprovDevice`: the simulator's state machine, so the
button, authorization, joining a network (or failing to) and the redirect URL behave as
on the virtual BLE link. Every GATT read is answered with the characteristic's current
value and every write goes to the device. Measured with Debian's chromium 156: reads,
writes, connection, discovery and subscribing (with a CCCD descriptor) are emulated, but
no command delivers a notification, so the page reads the state to follow the device.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any

from improv_ble_client.protocol import (
    CHARACTERISTIC_UUID_CAPABILITIES,
    CHARACTERISTIC_UUID_ERROR,
    CHARACTERISTIC_UUID_RPC_COMMAND,
    CHARACTERISTIC_UUID_RPC_RESULT,
    CHARACTERISTIC_UUID_STATE,
    SERVICE_UUID,
)
from playwright.async_api import CDPSession, Error

from simulators.improv_ble.device import CharacteristicName
from simulators.improv_ble.handheld import HandheldImprovDevice

CCCD = "00002902-0000-1000-8000-00805f9b34fb"
GATT_SUCCESS = 0

_CHARACTERISTICS: dict[CharacteristicName, tuple[str, dict[str, bool]]] = {
    "capabilities": (CHARACTERISTIC_UUID_CAPABILITIES, {"read": True}),
    "state": (CHARACTERISTIC_UUID_STATE, {"read": True, "notify": True}),
    "error": (CHARACTERISTIC_UUID_ERROR, {"read": True, "notify": True}),
    "rpc_command": (CHARACTERISTIC_UUID_RPC_COMMAND, {"write": True}),
    "rpc_result": (CHARACTERISTIC_UUID_RPC_RESULT, {"read": True, "notify": True}),
}


@dataclass
class GattLog:
    """What the page did to the device over GATT, for tests to check."""

    connections: int = 0
    reads: dict[str, int] = field(default_factory=dict)
    writes: list[bytes] = field(default_factory=list)
    subscriptions: set[str] = field(default_factory=set)


class EmulatedImprovPeripheral:
    """`handheld` as a peripheral near the browser, under the BLE `address`.

    Args:
        browser_session: A browser-level CDP session (`Browser.new_browser_cdp_session`).
        handheld: The device behind the peripheral.
        address: Its BLE address (what the chooser lists as the device's id).
    """

    def __init__(
        self, browser_session: CDPSession, handheld: HandheldImprovDevice, address: str
    ) -> None:
        self._session = browser_session
        self.handheld = handheld
        self.address = address
        self.log = GattLog()
        self._names: dict[str, CharacteristicName] = {}
        self._descriptors: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def power_on(self) -> None:
        """Bring the device into range of the emulated adapter, with its service."""
        send = self._session.send
        await emulate_bluetooth_adapter(self._session)
        await send(
            "BluetoothEmulation.simulatePreconnectedPeripheral",
            {
                "address": self.address,
                "name": self.handheld.device.local_name,
                "manufacturerData": [],
                "knownServiceUuids": [SERVICE_UUID],
            },
        )
        service = await send(
            "BluetoothEmulation.addService", {"address": self.address, "serviceUuid": SERVICE_UUID}
        )
        for name, (uuid, properties) in _CHARACTERISTICS.items():
            added = await send(
                "BluetoothEmulation.addCharacteristic",
                {
                    "serviceId": service["serviceId"],
                    "characteristicUuid": uuid,
                    "properties": properties,
                },
            )
            self._names[added["characteristicId"]] = name
            if properties.get("notify"):
                descriptor = await send(
                    "BluetoothEmulation.addDescriptor",
                    {"characteristicId": added["characteristicId"], "descriptorUuid": CCCD},
                )
                self._descriptors.add(descriptor["descriptorId"])
        self._session.on("BluetoothEmulation.gattOperationReceived", self._on_gatt)
        self._session.on("BluetoothEmulation.characteristicOperationReceived", self._on_operation)
        self._session.on("BluetoothEmulation.descriptorOperationReceived", self._on_descriptor)

    def _spawn(self, method: str, params: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._session.send(method, params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_gatt(self, event: dict[str, Any]) -> None:
        if event["address"] != self.address:
            return  # another test's device on the same browser session
        if event["type"] == "connection":
            self.log.connections += 1
            self.handheld.connected("phone")
        self._spawn(
            "BluetoothEmulation.simulateGATTOperationResponse",
            {"address": event["address"], "type": event["type"], "code": GATT_SUCCESS},
        )

    def _on_operation(self, event: dict[str, Any]) -> None:
        name = self._names.get(event["characteristicId"])
        if name is None:
            return
        kind = event["type"]
        answer: dict[str, Any] = {
            "characteristicId": event["characteristicId"],
            "type": kind,
            "code": GATT_SUCCESS,
        }
        if kind == "read":
            self.log.reads[name] = self.log.reads.get(name, 0) + 1
            answer["data"] = base64.b64encode(self.handheld.read(name)).decode()
        elif kind == "write":
            data = base64.b64decode(event.get("data", ""))
            self.log.writes.append(data)
            self.handheld.write_rpc(data)
        elif kind == "subscribe-to-notifications":
            self.log.subscriptions.add(name)
        self._spawn("BluetoothEmulation.simulateCharacteristicOperationResponse", answer)

    def _on_descriptor(self, event: dict[str, Any]) -> None:
        if event["descriptorId"] not in self._descriptors:
            return
        self._spawn(
            "BluetoothEmulation.simulateDescriptorOperationResponse",
            {"descriptorId": event["descriptorId"], "type": event["type"], "code": GATT_SUCCESS},
        )


async def emulate_bluetooth_adapter(browser_session: CDPSession) -> None:
    """Give the browser a powered-on BLE adapter that hears only emulated devices.

    Chrome drops the emulation when the last context that used it closes, and refuses a
    second `enable` while it is on: enabled where it is not."""
    try:
        await browser_session.send(
            "BluetoothEmulation.enable", {"state": "powered-on", "leSupported": True}
        )
    except Error as error:
        if "already enabled" not in error.message:
            raise


async def answer_device_chooser(page_session: CDPSession, address: str) -> list[str]:
    """Pick the device `address` whenever the page opens the Bluetooth chooser; returns
    the list it appends each prompt's id to. A prompt is answered once (Chrome sends it
    again as the list fills, and a second answer crashes it)."""
    answered: list[str] = []
    tasks: set[asyncio.Task[Any]] = set()

    def on_prompt(event: dict[str, Any]) -> None:
        # Chrome lists the device under its address in capitals.
        listed = [d["id"] for d in event["devices"] if d["id"].lower() == address.lower()]
        if event["id"] in answered or not listed:
            return
        answered.append(event["id"])
        task = asyncio.ensure_future(
            page_session.send(
                "DeviceAccess.selectPrompt", {"id": event["id"], "deviceId": listed[0]}
            )
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    await page_session.send("DeviceAccess.enable")
    page_session.on("DeviceAccess.deviceRequestPrompted", on_prompt)
    return answered
