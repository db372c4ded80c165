"""The `http-wifi` edge capability: an HTTP client on the site's LAN and the Wi-Fi activities."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from activities.http_wifi import HttpWifiActivities
from adapters.http_wifi import HttpWifiAdapter
from config.settings import Settings
from worker.capabilities.contract import EdgeContext, outbound_policy


@contextlib.asynccontextmanager
async def shelly_rpc_adapter(settings: Settings) -> AsyncIterator[HttpWifiAdapter]:
    """The local HTTP RPC API of the site's devices, over a client closed on exit that
    goes only where the site allows (`DEVPROV_EDGE_OUTBOUND`), never through a proxy."""
    timeout = settings.http_wifi.timeout_seconds
    async with outbound_policy(settings).client(timeout=timeout) as http:
        yield HttpWifiAdapter(
            http, address_template=settings.http_device_address_template, timeout=timeout
        )


@contextlib.asynccontextmanager
async def http_wifi_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Wi-Fi devices with a local HTTP RPC API, reached over the site's LAN."""
    async with shelly_rpc_adapter(context.settings) as adapter:
        yield HttpWifiActivities(adapter).all()
