"""Serving the Improv control app on a local TCP port (tests; the embedded stack mounts it)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from simulators.improv_ble.control_http import create_improv_control_app
from simulators.improv_ble.fleet import ImprovDeviceFleet
from simulators.serving import serve_app

_SHUTDOWN_TIMEOUT = 0.5


@dataclass
class RunningImprovControl:
    """The control app listening on `base_url`; the fleet's redirect URLs point here."""

    fleet: ImprovDeviceFleet
    base_url: str
    runner: web.AppRunner

    async def close(self) -> None:
        self.fleet.set_http_base_url(None)
        await self.runner.cleanup()


async def start_improv_control(
    fleet: ImprovDeviceFleet, host: str = "127.0.0.1", port: int = 0
) -> RunningImprovControl:
    """Serve `fleet`'s control API and web pages on `host:port` (0: any free port)."""
    runner, base_url = await serve_app(
        create_improv_control_app(fleet), host, port, shutdown_timeout=_SHUTDOWN_TIMEOUT
    )
    fleet.set_http_base_url(base_url)
    return RunningImprovControl(fleet, base_url, runner)
