"""The `zigbee` family's simulated devices under the embedded stack (`make run`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from simulators.family_simulator import SimulatorContext, StartedSimulator
from simulators.zigbee.control_http import start_zigbee_control
from simulators.zigbee.fleet import default_fleet
from simulators.zigbee.world import SimulatedZigbeeWorld


@contextlib.asynccontextmanager
async def simulated_zigbee_devices(context: SimulatorContext) -> AsyncIterator[StartedSimulator]:
    """Zigbee devices in pairing mode, in range of the gateways' simulated sticks; the
    resource is that world (it hands each gateway its stick)."""
    sims = context.settings.simulators
    zigbee = SimulatedZigbeeWorld(default_fleet())
    control = await start_zigbee_control(
        zigbee.fleet, zigbee.sticks, host=sims.host, port=sims.zigbee_port
    )
    try:
        yield StartedSimulator(
            lines=[("Simulated Zigbee", f"{control.base_url}/_sim/zigbee/devices")],
            resource=zigbee,
        )
    finally:
        await control.close()
