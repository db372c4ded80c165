"""Edge capabilities: the device-facing activities an edge worker hosts, with their resources.

A capability opens what its activities need (an HTTP client, a BLE radio, a Zigbee
coordinator) when the edge worker starts, hands its activities to the worker, and
closes everything when the worker stops. Add one by writing a factory below and
listing it in `CAPABILITIES`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from activities.http_wifi import HttpWifiActivities
from adapters.http_wifi import ShellyRpcAdapter
from config.settings import Settings
from domain.run import host_task_queue
from worker.improv_ble_capability import improv_ble_capability
from worker.zigbee_capability import zigbee_capability


@dataclass
class SimulatedWorld:
    """In-process simulated radios shared by the edge workers of one process.

    A virtual radio link only exists inside one process: the embedded stack and the
    tests create it once and give it to every edge worker (and to the simulated devices)
    there. Fields stay `None` where a real radio is used.
    """

    shared: dict[str, object] = field(default_factory=dict)
    """Simulated resources by capability name (typed accessors live with each capability)."""


@dataclass(frozen=True)
class EdgeContext:
    """What a capability knows about the edge worker it runs in."""

    settings: Settings
    site: str
    host: str
    data_dir: Path
    world: SimulatedWorld

    @property
    def host_task_queue(self) -> str:
        """The queue only this worker serves; detect activities return it to pin a run."""
        return host_task_queue(self.site, self.host)


EdgeCapability = Callable[[EdgeContext], AbstractAsyncContextManager[list[object]]]
"""Opens a capability's resources and yields its activities."""


@contextlib.asynccontextmanager
async def http_wifi_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Wi-Fi devices with a local HTTP RPC API, reached over the site's LAN."""
    settings = context.settings
    # trust_env=False: a proxy set for the internet must not capture local device traffic.
    async with httpx.AsyncClient(
        timeout=settings.http_device_timeout_seconds, trust_env=False
    ) as http:
        adapter = ShellyRpcAdapter(
            http,
            address_template=settings.http_device_address_template,
            timeout=settings.http_device_timeout_seconds,
        )
        yield HttpWifiActivities(adapter).all()


CAPABILITIES: dict[str, EdgeCapability] = {
    "http-wifi": http_wifi_capability,
    "improv-ble": improv_ble_capability,
    "zigbee": zigbee_capability,
}


def selected_capabilities(settings: Settings) -> dict[str, EdgeCapability]:
    """The capabilities named by `DEVPROV_EDGE_CAPABILITIES` (all when unset)."""
    if not settings.edge_capabilities:
        return dict(CAPABILITIES)
    unknown = sorted(set(settings.edge_capabilities) - set(CAPABILITIES))
    if unknown:
        raise ValueError(
            f"DEVPROV_EDGE_CAPABILITIES names unknown capabilities {unknown}; "
            f"known: {sorted(CAPABILITIES)}"
        )
    return {name: CAPABILITIES[name] for name in settings.edge_capabilities}
