"""The `zigbee` edge capability: a gateway's Zigbee coordinator and the Zigbee activities.

The radio comes from `DEVPROV_ZIGBEE_RADIO` (see `adapters.zigbee.radios`): a real stick
(`znp:/dev/ttyUSB0`, `ezsp:...`, `deconz:...`) or the simulated radio, whose devices the
embedded stack and the tests put into the `SimulatedWorld` under `zigbee`. zigpy keeps
the network's state in `<gateway data dir>/zigbee/zigbee.db`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from zigpy.application import ControllerApplication

from activities.zigbee import ZigbeeActivities
from adapters.zigbee import CoordinatorSettings, ZigbeeCoordinator, parse_radio
from simulators.zigbee import (
    SimulatedCoordinator,
    SimulatedZigbeeWorld,
    ZigbeeSimulation,
    simulation_config,
)

if TYPE_CHECKING:
    # Only for annotations: edge_capabilities lists this capability.
    from worker.edge_capabilities import EdgeContext, SimulatedWorld

logger = logging.getLogger("devprov.worker.edge")

CAPABILITY = "zigbee"


def simulated_zigbee_world(world: SimulatedWorld) -> SimulatedZigbeeWorld | None:
    """The process's simulated Zigbee devices and sticks, if the simulated world has them."""
    shared = world.shared.get(CAPABILITY)
    if shared is None:
        return None
    if not isinstance(shared, SimulatedZigbeeWorld):
        raise TypeError(f"world.shared[{CAPABILITY!r}] is a {type(shared).__name__}")
    return shared


def share_simulated_zigbee_world(world: SimulatedWorld, zigbee: SimulatedZigbeeWorld) -> None:
    """Give the edge workers of this process the simulated Zigbee devices in `zigbee`."""
    world.shared[CAPABILITY] = zigbee


def _simulated_radio(
    context: EdgeContext,
) -> tuple[type[ControllerApplication], dict[str, Any]]:
    zigbee = simulated_zigbee_world(context.world)
    if zigbee is None:
        logger.warning(
            "edge %s/%s: Zigbee radio 'simulated' without simulated devices in this process: "
            "it will hear nothing. On a gateway set DEVPROV_ZIGBEE_RADIO=znp:/dev/ttyUSB0 "
            "(or ezsp:..., deconz:...)",
            context.site,
            context.host,
        )
        zigbee = SimulatedZigbeeWorld()
    stick = zigbee.stick_for(context.host)
    return SimulatedCoordinator, simulation_config(ZigbeeSimulation(zigbee.fleet, stick))


@contextlib.asynccontextmanager
async def zigbee_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Zigbee devices joining this gateway's coordinator."""
    settings = context.settings
    radio = parse_radio(settings.zigbee_radio, baudrate=settings.zigbee_baudrate)
    controller: type[ControllerApplication] | None = None
    radio_config: dict[str, Any] = {}
    if radio.simulated:
        controller, radio_config = _simulated_radio(context)
    coordinator = ZigbeeCoordinator(
        radio,
        CoordinatorSettings(
            database_path=context.data_dir / "zigbee" / "zigbee.db",
            channel=settings.zigbee_channel,
            capacity=settings.zigbee_capacity,
        ),
        controller=controller,
        radio_config=radio_config,
    )
    # A stick that cannot be opened now does not stop the gateway: its other
    # capabilities serve, and the coordinator keeps trying.
    await coordinator.start()
    try:
        yield ZigbeeActivities(coordinator, host_task_queue=context.host_task_queue).all()
    finally:
        await coordinator.close()
