"""A virtual BLE radio medium in one process: bumble controllers on a shared `LocalLink`.

Every host opened here gets its own virtual controller with its own address on the
same link, so advertisements, connections, GATT and notifications travel between
them as they would over the air: each edge worker gets a central host, each simulated
device a peripheral host. Nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from types import TracebackType

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink, Transport
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from adapters.ble.bumble_host import BumbleCentral, BumbleHost, static_address_for


@dataclass
class ServedHciController:
    """A virtual controller on the link, reachable as an HCI controller over TCP.

    Attributes:
        transport: The bumble transport that reaches it, e.g. `tcp-client:127.0.0.1:40123`
            (a gateway uses it as `bumble-hci:<transport>`).
        address: Its public address.
    """

    transport: str
    address: str
    _controller: Controller
    _server: Transport
    _link: LocalLink

    async def close(self) -> None:
        if self._controller in self._link.controllers:
            self._link.remove_controller(self._controller)
        await self._server.close()
        # bumble's TCP server transport does not close its listening server itself.
        listener = getattr(self._server, "server", None)
        if isinstance(listener, asyncio.Server):
            listener.close()
            await listener.wait_closed()


class VirtualBleRadio:
    """Owns one `LocalLink` and every host on it; `close()` shuts them all down."""

    def __init__(self) -> None:
        self._link = LocalLink()  # type: ignore[no-untyped-call]
        self._hosts: dict[str, BumbleHost] = {}
        self._served: list[ServedHciController] = []
        self._closed = False

    @property
    def addresses(self) -> dict[str, str]:
        """Host name → address, for the hosts open on the link."""
        return {name: host.address for name, host in self._hosts.items()}

    async def open_host(self, name: str, address: str | None = None) -> BumbleHost:
        """Put a new powered-on host on the link.

        Args:
            name: Unique on this radio (a gateway or device name).
            address: Static random address; derived from `name` when omitted.
        """
        if self._closed:
            raise RuntimeError("the virtual BLE radio is closed")
        if name in self._hosts:
            raise ValueError(f"a host named '{name}' is already on the virtual BLE link")
        address = address or static_address_for(name)
        if address.upper() in {a.upper() for a in self.addresses.values()}:
            raise ValueError(f"address {address} is already used on the virtual BLE link")
        controller = Controller(name, link=self._link, public_address=address)
        device = Device(
            name=name,
            address=Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )

        async def leave_link() -> None:
            self._hosts.pop(name, None)
            self._link.remove_controller(controller)

        host = BumbleHost(device, name=name, on_close=leave_link)
        self._hosts[name] = host
        try:
            await device.power_on()
        except BaseException:
            await host.close()
            raise
        return host

    async def open_central(self, name: str, address: str | None = None) -> BumbleCentral:
        """A host in the central role, for a gateway's bleak backend."""
        return BumbleCentral(await self.open_host(name, address))

    async def serve_hci(
        self, name: str, host: str = "127.0.0.1", port: int = 0
    ) -> ServedHciController:
        """A controller on the link that a bumble host drives over HCI-over-TCP.

        What a USB dongle is to a real gateway: lets the `bumble-hci:<transport>`
        backend be exercised against the virtual link.
        """
        address = static_address_for(name)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        port = listener.getsockname()[1]
        server = await open_tcp_server_transport_with_socket(listener)
        controller = Controller(
            name,
            host_source=server.source,
            host_sink=server.sink,
            link=self._link,
            public_address=address,
        )
        served = ServedHciController(
            f"tcp-client:{host}:{port}", address, controller, server, self._link
        )
        self._served.append(served)
        return served

    async def close(self) -> None:
        """Shut every host down and leave the link empty; idempotent."""
        self._closed = True
        for host in list(self._hosts.values()):
            await host.close()
        for served in self._served:
            await served.close()
        self._served.clear()

    async def __aenter__(self) -> VirtualBleRadio:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
