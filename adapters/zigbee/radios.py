"""Choosing the coordinator radio from configuration.

`DEVPROV_ZIGBEE_RADIO` (or the edge worker's settings) names the radio as `kind[:port]`:

| value                 | radio                                | library (optional extra) |
|-----------------------|--------------------------------------|--------------------------|
| `simulated`           | devprov's simulated stick, devices   | none (built in)          |
| `znp:/dev/ttyUSB0`    | Texas Instruments Z-Stack (CC2652)   | `zigpy-znp`              |
| `ezsp:/dev/ttyUSB0`   | Silicon Labs EmberZNet (EFR32)       | `bellows`                |
| `deconz:/dev/ttyACM0` | dresden elektronik ConBee / RaspBee  | `zigpy-deconz`           |

The radio library is imported only when its radio is chosen; a missing one is reported
with the package to install. Radio libraries that advertise a `zigpy.radio` entry point
are found by their entry point name too.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol

from zigpy.application import RADIO_ENTRY_POINT_GROUP, ControllerApplication

from adapters.zigbee.errors import ZigbeeRadioUnavailable

SIMULATED = "simulated"


class SimulatedZigbeeRadios(Protocol):
    """The simulated sticks of a process's gateways, given to the `simulated` radio by the
    composition root that simulates devices (the embedded stack, the tests)."""

    def radio_for(self, host: str) -> tuple[type[ControllerApplication], dict[str, Any]]:
        """The controller class and extra zigpy configuration of gateway `host`'s stick."""
        ...


@dataclass(frozen=True)
class RadioLibrary:
    """Where a radio kind's controller lives and which package provides it."""

    module: str
    package: str
    extra: str


KNOWN_RADIOS: dict[str, RadioLibrary] = {
    "znp": RadioLibrary("zigpy_znp.zigbee.application", "zigpy-znp", "zigbee-znp"),
    "ezsp": RadioLibrary("bellows.zigbee.application", "bellows", "zigbee-ezsp"),
    "deconz": RadioLibrary("zigpy_deconz.zigbee.application", "zigpy-deconz", "zigbee-deconz"),
}


@dataclass(frozen=True)
class RadioSpec:
    """A radio kind and the port it is on (`None` for the simulated radio)."""

    kind: str
    port: str | None = None
    baudrate: int | None = None
    flow_control: str | None = None

    def __str__(self) -> str:
        return self.kind if self.port is None else f"{self.kind}:{self.port}"

    @property
    def simulated(self) -> bool:
        return self.kind == SIMULATED


def parse_radio(
    text: str, *, baudrate: int | None = None, flow_control: str | None = None
) -> RadioSpec:
    """Read `simulated` or `kind:port`.

    Raises:
        ZigbeeRadioUnavailable: Empty, or a real radio without a port.
    """
    kind, _, port = text.strip().partition(":")
    kind = kind.lower()
    if not kind:
        raise ZigbeeRadioUnavailable(
            "no Zigbee radio configured (e.g. `simulated`, `znp:/dev/ttyUSB0`)"
        )
    if kind == SIMULATED:
        return RadioSpec(SIMULATED)
    if not port:
        raise ZigbeeRadioUnavailable(
            f"radio '{kind}' needs a port, e.g. `{kind}:/dev/ttyUSB0` or `{kind}:socket://host:6638`"
        )
    return RadioSpec(kind, port, baudrate, flow_control)


def _from_entry_point(kind: str) -> type[ControllerApplication] | None:
    for entry in entry_points(group=RADIO_ENTRY_POINT_GROUP):
        if entry.name == kind:
            loaded = entry.load()
            if isinstance(loaded, type) and issubclass(loaded, ControllerApplication):
                return loaded
    return None


def load_controller(spec: RadioSpec) -> type[ControllerApplication]:
    """The zigpy controller class of a real radio, importing its library.

    Raises:
        ZigbeeRadioUnavailable: The kind is unknown or its library is not installed.
    """
    if spec.simulated:
        raise ZigbeeRadioUnavailable(
            "the simulated radio is provided by the composition root (worker), not loaded"
        )
    library = KNOWN_RADIOS.get(spec.kind)
    try:
        found = _from_entry_point(spec.kind)
    except ImportError:
        found = None
    if found is not None:
        return found
    if library is None:
        known = ", ".join([SIMULATED, *sorted(KNOWN_RADIOS)])
        raise ZigbeeRadioUnavailable(f"unknown Zigbee radio '{spec.kind}'; known: {known}")
    try:
        module = importlib.import_module(library.module)
    except ImportError:
        raise ZigbeeRadioUnavailable(
            f"radio '{spec.kind}' needs the {library.package} package: "
            f"pip install 'devprov[{library.extra}]' (or pip install {library.package})",
            details={"radio": spec.kind, "package": library.package},
        ) from None
    controller = getattr(module, "ControllerApplication", None)
    if not (isinstance(controller, type) and issubclass(controller, ControllerApplication)):
        raise ZigbeeRadioUnavailable(
            f"{library.module} has no zigpy ControllerApplication", details={"radio": spec.kind}
        )
    return controller
