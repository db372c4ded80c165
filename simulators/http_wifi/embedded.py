"""The `http-wifi` family's simulated devices under the embedded stack (`make run`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from simulators.family_simulator import SimulatorContext, StartedSimulator
from simulators.http_wifi.fleet import default_fleet
from simulators.http_wifi.server import start_simulator


@contextlib.asynccontextmanager
async def simulated_wifi_devices(context: SimulatorContext) -> AsyncIterator[StartedSimulator]:
    """The default fleet of Wi-Fi devices in set-up mode behind one HTTP server; the
    resource is the fleet (other Wi-Fi families add their devices to it)."""
    sims = context.settings.simulators
    fleet = default_fleet()
    simulator = await start_simulator(fleet, host=sims.host, port=sims.http_port)
    try:
        yield StartedSimulator(
            lines=[("Simulated devices", f"{simulator.base_url}/_sim/devices")], resource=fleet
        )
    finally:
        await simulator.close()
