"""What a device family's simulator is to the embedded stack (`make run`).

A family's wiring (`worker.families.FamilyWiring.simulator`) names a `FamilySimulator`:
it starts the family's simulated devices (or cloud) and yields what it started; the
embedded stack starts every installed family's simulator before its workers, prints
their lines in the banner and, where the wiring says so, shares the started
`resource` (a virtual radio, simulated coordinator sticks) with its edge workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from config.settings import Settings


@dataclass(frozen=True)
class SimulatorContext:
    """What a family's simulator is started with.

    Attributes:
        settings: The stack's settings.
        started: The simulators started before it, by family name (those its
            `EmbeddedSimulator.after` names among them).
    """

    settings: Settings
    started: Mapping[str, StartedSimulator] = field(default_factory=dict)


@dataclass(frozen=True)
class StartedSimulator:
    """What a family's simulator started.

    Attributes:
        lines: `(label, text)` lines of the banner, e.g.
            `("Simulated Zigbee", "http://127.0.0.1:8094/_sim/zigbee/devices")`.
        hints: Lines of the banner's "Try:" block.
        resource: What the family's edge workers use to reach the simulated devices
            in this process, when the wiring shares it with them.
        settings: How the stack's settings change while it runs (the local AWS:
            certificates are found by their subject); None: unchanged.
    """

    lines: list[tuple[str, str]] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    resource: object | None = None
    settings: Callable[[Settings], Settings] | None = None


FamilySimulator = Callable[[SimulatorContext], AbstractAsyncContextManager[StartedSimulator]]
"""Starts a family's simulated devices, yields what it started, stops them on exit."""
