"""Running the simulator on a local TCP port."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from simulators.http_wifi.app import create_simulator_app
from simulators.http_wifi.fleet import WifiDeviceFleet
from simulators.serving import serve_app

# Requests held by a latency fault must not hold up shutdown for long.
_SHUTDOWN_TIMEOUT = 0.5


@dataclass
class RunningSimulator:
    """A simulator listening on `base_url`; `close()` stops it."""

    fleet: WifiDeviceFleet
    base_url: str
    runner: web.AppRunner

    def device_address(self, device_id: str) -> str:
        """Base URL of one device's local API (its RPC endpoint is `<address>/rpc`)."""
        return f"{self.base_url}/devices/{device_id}"

    async def close(self) -> None:
        """Stop listening and drop the requests still in flight."""
        await self.runner.cleanup()


async def start_simulator(
    fleet: WifiDeviceFleet, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve `fleet` on `host:port`; port 0 picks a free port (read it from `base_url`)."""
    runner, base_url = await serve_app(
        create_simulator_app(fleet), host, port, shutdown_timeout=_SHUTDOWN_TIMEOUT
    )
    return RunningSimulator(fleet, base_url, runner)
