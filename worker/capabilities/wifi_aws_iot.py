"""The `wifi-aws-iot` edge capability: the device's side of its AWS IoT registration (its
CSR, its certificate) over the same local HTTP RPC API as its Wi-Fi set-up; the Wi-Fi
steps themselves are the `http-wifi` capability's."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from activities.device_certificate import DeviceCertificateActivities
from worker.capabilities.contract import EdgeContext
from worker.capabilities.http_wifi import shelly_rpc_adapter


@contextlib.asynccontextmanager
async def wifi_aws_iot_capability(context: EdgeContext) -> AsyncIterator[list[object]]:
    """Devices that make their own TLS client key, reached over the site's LAN."""
    async with shelly_rpc_adapter(context.settings) as adapter:
        yield DeviceCertificateActivities(adapter).all()
