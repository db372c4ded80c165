"""A virtual BLE radio medium in one process: bumble controllers on a shared `LocalLink`.

Every host opened here gets its own virtual controller with its own address on the
same link, so advertisements, connections, GATT and notifications travel between
them as they would over the air: each edge worker gets a central host, each simulated
device a peripheral host. Nothing leaves the process.
"""

from __future__ import annotations

from types import TracebackType

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from adapters.ble.bumble_host import BumbleCentral, BumbleHost, static_address_for


class VirtualBleRadio:
    """Owns one `LocalLink` and every host on it; `close()` shuts them all down."""

    def __init__(self) -> None:
        self._link = LocalLink()  # type: ignore[no-untyped-call]
        self._hosts: dict[str, BumbleHost] = {}
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

    async def close(self) -> None:
        """Shut every host down and leave the link empty; idempotent."""
        self._closed = True
        for host in list(self._hosts.values()):
            await host.close()

    async def __aenter__(self) -> VirtualBleRadio:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
