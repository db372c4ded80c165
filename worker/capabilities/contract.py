"""What an edge capability is: the contract every capability module implements.

A leaf module: it imports no capability, so capabilities and the edge worker both
depend on it and never on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar, cast

from adapters.outbound import OutboundPolicy
from config.settings import Settings
from config.startup import ConfigurationError
from domain.run import host_task_queue

T = TypeVar("T")


@dataclass(frozen=True)
class WorldKey(Generic[T]):
    """The typed name of one simulated resource in a `SimulatedWorld` (like aiohttp's
    `AppKey`): whoever shares a value and whoever reads it agree on its type."""

    name: str


class SimulatedWorld:
    """In-process simulated radios shared by the edge workers of one process.

    A virtual radio link only exists inside one process: the embedded stack and the
    tests create it once and give it to every edge worker (and to the simulated devices)
    there. A capability whose resource is absent uses a real radio (or none).
    """

    def __init__(self) -> None:
        self._shared: dict[str, object] = {}

    def share(self, key: WorldKey[T], value: T) -> None:
        """Give the edge workers of this process `value` under `key`."""
        self._shared[key.name] = value

    def get(self, key: WorldKey[T]) -> T | None:
        """The value shared under `key`, if any."""
        # Only `share` writes here, with a value of the key's type.
        return cast("T | None", self._shared.get(key.name))


@dataclass(frozen=True)
class EdgeContext:
    """What a capability knows about the edge worker it runs in."""

    settings: Settings
    site: str
    host: str
    data_dir: Path
    world: SimulatedWorld = field(default_factory=SimulatedWorld)

    @property
    def host_task_queue(self) -> str:
        """The queue only this worker serves; detect activities return it to pin a run."""
        return host_task_queue(self.site, self.host)

    def outbound_policy(self) -> OutboundPolicy:
        """Where this gateway's HTTP clients may go (`DEVPROV_EDGE_OUTBOUND`)."""
        return outbound_policy(self.settings)


def outbound_policy(settings: Settings) -> OutboundPolicy:
    """Where a gateway's HTTP clients may go (`DEVPROV_EDGE_OUTBOUND`).

    Raises:
        ConfigurationError: the allow-list does not parse.
    """
    try:
        return OutboundPolicy.parse(settings.edge.outbound)
    except ValueError as error:
        raise ConfigurationError(f"DEVPROV_EDGE_OUTBOUND: {error}") from None


EdgeCapability = Callable[[EdgeContext], AbstractAsyncContextManager[list[object]]]
"""Opens a capability's resources and yields its activities."""
