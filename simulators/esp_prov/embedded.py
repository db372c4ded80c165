"""The `esp-prov-ble` family's simulated ESP32s under the embedded stack (`make run`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from adapters.ble import VirtualBleRadio
from adapters.esp_prov import SecurityScheme
from simulators.esp_prov.control_http import start_esp_control
from simulators.esp_prov.device import EspDeviceSpec
from simulators.esp_prov.fleet import EspDeviceFleet
from simulators.family_simulator import SimulatorContext, StartedSimulator

EXAMPLE_SECRET = "abcd1234"
"""The password and proof of possession of ESP-IDF's own examples (public)."""


def default_esp_specs() -> list[EspDeviceSpec]:
    """The simulated ESP32s of the embedded default, one per security scheme, as the
    requests in examples/requests/ name them."""
    return [
        EspDeviceSpec(
            device_id="esp32-plug-study",
            security=SecurityScheme.SEC2,
            secret=EXAMPLE_SECRET,
            join_delay=1.0,
        ),
        EspDeviceSpec(
            device_id="esp32-lamp-attic",
            security=SecurityScheme.SEC1,
            secret=EXAMPLE_SECRET,
            join_delay=1.0,
        ),
    ]


@contextlib.asynccontextmanager
async def simulated_esp_devices(context: SimulatorContext) -> AsyncIterator[StartedSimulator]:
    """ESP32s in provisioning mode on a virtual BLE link that only this process's
    gateways hear, with their control API (`/_sim/esp`); the resource is that link's
    radio."""
    sims = context.settings.simulators
    async with VirtualBleRadio() as radio, EspDeviceFleet(radio, default_esp_specs()) as fleet:
        described = ", ".join(
            f"{spec.device_id} (security {int(spec.security)})" for spec in default_esp_specs()
        )
        control, url = await start_esp_control(fleet, sims.host, sims.esp_port)
        try:
            yield StartedSimulator(
                lines=[
                    ("Simulated ESP32", f"over BLE: {described}"),
                    ("ESP32 control", f"{url}/_sim/esp/devices"),
                ],
                hints=[
                    "Have a simulated ESP32's network refuse its passphrase:",
                    f"curl -X PATCH {url}/_sim/esp/devices/esp32-plug-study/faults "
                    """-d '{"wifi_auth_error": true}'""",
                ],
                resource=fleet.radio,
            )
        finally:
            await control.cleanup()
