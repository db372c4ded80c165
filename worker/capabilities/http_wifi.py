"""The `http-wifi` edge capability: an HTTP client on the site's LAN and the Wi-Fi activities."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from activities.http_wifi import HttpWifiActivities
from adapters.http_wifi import ShellyRpcAdapter
from worker.capabilities.contract import EdgeContext


@contextlib.asynccontextmanager
async def http_wifi_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Wi-Fi devices with a local HTTP RPC API, reached over the site's LAN."""
    settings = context.settings
    # Only where the site allows; never through a proxy set for the internet.
    async with context.outbound_policy().client(timeout=settings.http_wifi.timeout_seconds) as http:
        adapter = ShellyRpcAdapter(
            http,
            address_template=settings.http_device_address_template,
            timeout=settings.http_wifi.timeout_seconds,
        )
        yield HttpWifiActivities(adapter).all()
