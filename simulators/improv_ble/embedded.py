"""The `improv-ble` family's simulated devices under the embedded stack (`make run`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from adapters.ble import VirtualBleRadio
from simulators.family_simulator import SimulatorContext, StartedSimulator
from simulators.improv_ble.fleet import ImprovDeviceFleet, default_improv_specs
from simulators.improv_ble.server import start_improv_control

BUTTON_DEVICE = "improv-bulb-porch"
"""The device whose button the banner shows how to press."""


@contextlib.asynccontextmanager
async def simulated_improv_devices(context: SimulatorContext) -> AsyncIterator[StartedSimulator]:
    """Improv devices on a virtual BLE link that only this process's gateways hear; the
    resource is that link's radio. An HCI controller on the link stands in for an
    installer's USB dongle, so that `devprov scan` hears the devices too."""
    sims = context.settings.simulators
    async with (
        VirtualBleRadio() as radio,
        ImprovDeviceFleet(radio, default_improv_specs()) as fleet,
    ):
        control = await start_improv_control(fleet, host=sims.host, port=sims.ble_port)
        try:
            dongle = await radio.serve_hci(
                "installer-dongle", host=sims.host, port=sims.ble_hci_port
            )
            yield StartedSimulator(
                lines=[
                    ("Simulated BLE", f"{control.base_url}/_sim/ble/devices"),
                    (
                        "BLE for clients",
                        f"bumble-hci:{dongle.transport}  (devprov scan --ble-backend ...)",
                    ),
                ],
                hints=[
                    "Press the button of a simulated BLE device (while its run waits for it):",
                    f"curl -X POST {control.base_url}/_sim/ble/devices/{BUTTON_DEVICE}/button",
                ],
                resource=radio,
            )
        finally:
            await control.close()
