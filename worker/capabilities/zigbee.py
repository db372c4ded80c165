"""The `zigbee` edge capability: a gateway's Zigbee coordinator and the Zigbee activities.

The radio comes from `DEVPROV_ZIGBEE_RADIO` (see `adapters.zigbee.radios`): a real stick
(`znp:/dev/ttyUSB0`, `ezsp:...`, `deconz:...`) or the simulated radio, which the embedded
stack and the tests share in the `SimulatedWorld` under `SIMULATED_ZIGBEE_RADIOS`. zigpy
keeps the network's state in `<gateway data dir>/zigbee/zigbee.db`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from activities.zigbee import ZigbeeActivities
from adapters.zigbee import (
    CoordinatorSettings,
    SimulatedZigbeeRadios,
    ZigbeeCoordinator,
    parse_radio,
)
from worker.capabilities.contract import EdgeContext, SimulatedWorld, WorldKey

logger = logging.getLogger("devprov.worker.edge")

CAPABILITY = "zigbee"
SIMULATED_ZIGBEE_RADIOS = WorldKey[SimulatedZigbeeRadios](CAPABILITY)
"""The process's simulated Zigbee devices and the simulated stick of each gateway."""


def share_simulated_zigbee_world(world: SimulatedWorld, zigbee: SimulatedZigbeeRadios) -> None:
    """Give the edge workers of this process the simulated Zigbee devices in `zigbee`."""
    world.share(SIMULATED_ZIGBEE_RADIOS, zigbee)


@contextlib.asynccontextmanager
async def zigbee_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Zigbee devices joining this gateway's coordinator."""
    settings = context.settings
    radio = parse_radio(settings.zigbee.radio, baudrate=settings.zigbee.baudrate)
    simulated = context.world.get(SIMULATED_ZIGBEE_RADIOS) if radio.simulated else None
    controller, radio_config = simulated.radio_for(context.host) if simulated else (None, {})
    coordinator = ZigbeeCoordinator(
        radio,
        CoordinatorSettings(
            database_path=context.data_dir / "zigbee" / "zigbee.db",
            channel=settings.zigbee.channel,
            capacity=settings.zigbee.capacity,
        ),
        controller=controller,
        radio_config=radio_config,
    )
    if radio.simulated and simulated is None:
        # Simulated devices exist only in a process that simulates them (the embedded
        # stack, the tests): a gateway has nothing to hear on this radio.
        logger.warning(
            "edge %s/%s: Zigbee radio 'simulated' without simulated devices in this process: "
            "its steps answer that the coordinator is not ready. On a gateway set "
            "DEVPROV_ZIGBEE_RADIO=znp:/dev/ttyUSB0 (or ezsp:..., deconz:...)",
            context.site,
            context.host,
        )
    else:
        # A stick that cannot be opened now does not stop the gateway: its other
        # capabilities serve, and the coordinator keeps trying.
        await coordinator.start()
    try:
        yield ZigbeeActivities(coordinator, host_task_queue=context.host_task_queue).all()
    finally:
        await coordinator.close()
