"""Running the simulated cloud on a local TCP port."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from simulators.serving import serve_app
from simulators.wifi_cloud.app import create_cloud_app
from simulators.wifi_cloud.cloud import SimulatedCloud
from simulators.wifi_cloud.config import CloudConfig

# Requests held by a latency fault must not hold up shutdown for long.
_SHUTDOWN_TIMEOUT = 0.5


@dataclass
class RunningCloud:
    """A simulated cloud listening on `base_url`; `close()` stops it."""

    cloud: SimulatedCloud
    base_url: str
    runner: web.AppRunner

    async def close(self) -> None:
        """Stop listening and drop the requests still in flight."""
        await self.runner.cleanup()


async def start_cloud_simulator(
    config: CloudConfig | SimulatedCloud | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningCloud:
    """Serve a simulated cloud on `host:port`; port 0 picks a free port (see `base_url`).

    Args:
        config: The cloud's configuration, or a `SimulatedCloud` built by the caller
            (e.g. with a fake clock).
        host: Address to listen on; loopback by default.
        port: Port to listen on; 0 for any free port.
    """
    cloud = config if isinstance(config, SimulatedCloud) else SimulatedCloud(config)
    runner, base_url = await serve_app(
        create_cloud_app(cloud), host, port, shutdown_timeout=_SHUTDOWN_TIMEOUT
    )
    return RunningCloud(cloud, base_url, runner)
