"""The wiring half of each device family's descriptor: what its workers host.

A family's pure descriptor (`strategies.family.DeviceFamily`) names its wiring as
`module:attribute`; only the workers and the embedded stack import it, because it
opens radios, serial ports and HTTP clients. The wiring names, in turn, the family's
simulator for the embedded stack (`make run`), which only that stack imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from config.settings import Settings
from strategies.family import DeviceFamily, FamilyError, installed_families, load_object
from worker.capabilities.contract import EdgeCapability, WorldKey

CentralActivities = Callable[[Settings], AbstractAsyncContextManager[list[object]]]
"""Opens a family's central resources (a vendor cloud's client) and yields its activities."""


@dataclass(frozen=True)
class EmbeddedSimulator:
    """A family's simulated devices (or cloud) under the embedded stack (`make run`).

    Attributes:
        start: `module:attribute` of its `simulators.family_simulator.FamilySimulator`:
            named, not imported, so that no gateway loads simulator code.
        shares: The key under which the family's edge capability finds the started
            simulator's `resource` in the edge workers' `SimulatedWorld` (a virtual
            BLE radio, simulated coordinator sticks); None when its devices are
            reached otherwise (over HTTP).
        after: Families whose simulators start before it: it finds what they
            started in its `SimulatorContext.started` (the AWS IoT devices join the
            `http-wifi` fleet).
    """

    start: str
    shares: WorldKey[Any] | None = None
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class FamilyWiring:
    """What a family's workers host.

    Attributes:
        edge_capability: Opens the family's device-facing resources on an edge
            worker and yields its activities; the capability carries the family's name.
        central_activities: The family's activities on the central workers.
        simulator: Its simulated devices (or cloud) under the embedded stack.
    """

    edge_capability: EdgeCapability | None = None
    central_activities: CentralActivities | None = None
    simulator: EmbeddedSimulator | None = None


def wiring_of(family: DeviceFamily) -> FamilyWiring:
    """The wiring a family's descriptor names (none when it names none)."""
    if not family.wiring:
        return FamilyWiring()
    wiring = load_object(family.wiring)
    if not isinstance(wiring, FamilyWiring):
        raise FamilyError(f"family '{family.name}': {family.wiring} is not a FamilyWiring")
    return wiring


def edge_capabilities(
    families: Iterable[DeviceFamily] | None = None,
) -> dict[str, EdgeCapability]:
    """Every family's edge capability by family name (default: the installed families)."""
    chosen = installed_families() if families is None else families
    capabilities: dict[str, EdgeCapability] = {}
    for family in chosen:
        capability = wiring_of(family).edge_capability
        if capability is not None:
            capabilities[family.name] = capability
    return capabilities


def central_activities(
    families: Iterable[DeviceFamily] | None = None,
) -> dict[str, CentralActivities]:
    """Every family's central activities by family name (default: the installed ones)."""
    chosen = installed_families() if families is None else families
    found: dict[str, CentralActivities] = {}
    for family in chosen:
        activities = wiring_of(family).central_activities
        if activities is not None:
            found[family.name] = activities
    return found


def embedded_simulators(
    families: Iterable[DeviceFamily] | None = None,
) -> dict[str, EmbeddedSimulator]:
    """Every family's simulator for the embedded stack by family name (default: the
    installed families), in selection order, each after those its `after` names."""
    chosen = installed_families() if families is None else families
    declared: dict[str, EmbeddedSimulator] = {}
    for family in chosen:
        simulator = wiring_of(family).simulator
        if simulator is not None:
            declared[family.name] = simulator
    ordered: dict[str, EmbeddedSimulator] = {}

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name not in declared:
            return
        if name in path:
            raise FamilyError(f"simulators start after each other in a circle: {path}")
        for first in declared[name].after:
            place(first, (*path, name))
        ordered[name] = declared[name]

    for name in declared:
        place(name, ())
    return ordered


def selected_capabilities(
    settings: Settings, families: Iterable[DeviceFamily] | None = None
) -> dict[str, EdgeCapability]:
    """The capabilities named by `DEVPROV_EDGE_CAPABILITIES` (all when unset)."""
    known = edge_capabilities(families)
    if not settings.edge.capabilities:
        return known
    unknown = sorted(set(settings.edge.capabilities) - set(known))
    if unknown:
        raise ValueError(
            f"DEVPROV_EDGE_CAPABILITIES names unknown capabilities {unknown}; "
            f"known: {sorted(known)}"
        )
    return {name: known[name] for name in settings.edge.capabilities}
