"""A simulated Improv device that a phone reaches over Bluetooth, with no radio of ours.

The same state machine as the devices on the virtual BLE link (`SimulatedImprovDevice`),
its clock, the Wi-Fi networks in range and its web page on loopback (where its redirect
URL points once it joined), but no bumble peripheral: whatever emulates the radio on the
phone's side — the Chrome DevTools Protocol's Bluetooth emulation in the browser tests —
reads its characteristics and writes its RPC commands through `read` and `write_rpc`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from aiohttp import web

from simulators.http_wifi.fleet import DEFAULT_NETWORKS
from simulators.improv_ble.device import (
    CharacteristicName,
    ImprovDeviceSpec,
    RpcFrameAssembler,
    SimulatedImprovDevice,
)
from simulators.improv_ble.fleet import WEB_PAGE_PATH

_TICK_SECONDS = 0.05


class HandheldImprovDevice:
    """One Improv device in set-up mode near a phone; start it with `async with`.

    Args:
        spec: What the device is and the knobs it starts with.
        networks: Wi-Fi networks in range (ssid → passphrase); default: the lab network.
    """

    def __init__(self, spec: ImprovDeviceSpec, networks: Mapping[str, str] | None = None) -> None:
        self._loop_start = 0.0
        self.device = SimulatedImprovDevice(spec, now=0.0)
        self.networks = dict(DEFAULT_NETWORKS if networks is None else networks)
        self._assembler = RpcFrameAssembler()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.base_url = ""

    async def __aenter__(self) -> HandheldImprovDevice:
        app = web.Application()
        path = WEB_PAGE_PATH.format(device_id=self.device.device_id)
        app.router.add_get(path, self._web_page)
        app.router.add_post(f"{path}/reset", self._web_reset)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.device.redirect_url = self.base_url + path
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._runner is not None:
            await self._runner.cleanup()

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _tick(self) -> None:
        while True:
            self.device.tick(self.now(), self.networks)
            # Notifications and advertising data have no radio to go to: a phone reads.
            self.device.drain_effects()
            await asyncio.sleep(_TICK_SECONDS)

    # ------------------------------------------------------------------ the GATT side

    def read(self, characteristic: CharacteristicName) -> bytes:
        """The value of one Improv characteristic, as a central reads it."""
        device = self.device
        if characteristic == "capabilities":
            return bytes([int(device.capabilities)])
        if characteristic == "state":
            return bytes([device.state])
        if characteristic == "error":
            return bytes([device.error])
        if characteristic == "rpc_result":
            return device.rpc_result
        return b""

    def write_rpc(self, data: bytes) -> None:
        """Bytes written to the RPC command characteristic (frames may be split)."""
        for frame in self._assembler.feed(data):
            self.device.handle_rpc(frame, self.now())
        self.device.drain_effects()

    def connected(self, central: str) -> None:
        """A phone connected (a person standing by may press the button soon)."""
        self.device.record_connection(central, self.now())

    def press_button(self) -> bool:
        """A person presses the device's button."""
        return self.device.press_button(self.now())

    # ------------------------------------------------------------------ the LAN side

    async def _web_page(self, request: web.Request) -> web.Response:
        page = self.device.web_page()
        if page is None:
            return web.json_response({"code": "not_on_network"}, status=503)
        return web.json_response({**page, "reset_url": str(request.url) + "/reset"})

    async def _web_reset(self, request: web.Request) -> web.Response:
        if self.device.web_page() is None:
            return web.json_response({"code": "not_on_network"}, status=503)
        self.device.factory_reset(self.now())
        return web.json_response({"device_id": self.device.device_id})
