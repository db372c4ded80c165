"""Edge capabilities: the device-facing activities an edge worker hosts, with their resources.

A capability opens what its activities need (an HTTP client, a BLE radio, a Zigbee
coordinator) when the edge worker starts, hands its activities to the worker, and
closes everything when the worker stops. The contract lives in
`worker.capabilities.contract`; each capability has its own module here, and each
family's wiring (`worker.families`) names the capability its edge workers host.
"""

from __future__ import annotations

from worker.capabilities.contract import EdgeCapability, EdgeContext, SimulatedWorld, WorldKey

__all__ = ["EdgeCapability", "EdgeContext", "SimulatedWorld", "WorldKey"]
