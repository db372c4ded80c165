"""Edge capabilities: the device-facing activities an edge worker hosts, with their resources.

A capability opens what its activities need (an HTTP client, a BLE radio, a Zigbee
coordinator) when the edge worker starts, hands its activities to the worker, and
closes everything when the worker stops. The contract lives in
`worker.capabilities.contract`; each capability has its own module here.
"""

from __future__ import annotations

from config.settings import Settings
from worker.capabilities.contract import EdgeCapability, EdgeContext, SimulatedWorld, WorldKey
from worker.capabilities.http_wifi import http_wifi_capability
from worker.capabilities.improv_ble import improv_ble_capability
from worker.capabilities.zigbee import zigbee_capability

__all__ = [
    "CAPABILITIES",
    "EdgeCapability",
    "EdgeContext",
    "SimulatedWorld",
    "WorldKey",
    "selected_capabilities",
]

CAPABILITIES: dict[str, EdgeCapability] = {
    "http-wifi": http_wifi_capability,
    "improv-ble": improv_ble_capability,
    "zigbee": zigbee_capability,
}


def selected_capabilities(settings: Settings) -> dict[str, EdgeCapability]:
    """The capabilities named by `DEVPROV_EDGE_CAPABILITIES` (all when unset)."""
    if not settings.edge.capabilities:
        return dict(CAPABILITIES)
    unknown = sorted(set(settings.edge.capabilities) - set(CAPABILITIES))
    if unknown:
        raise ValueError(
            f"DEVPROV_EDGE_CAPABILITIES names unknown capabilities {unknown}; "
            f"known: {sorted(CAPABILITIES)}"
        )
    return {name: CAPABILITIES[name] for name in settings.edge.capabilities}
