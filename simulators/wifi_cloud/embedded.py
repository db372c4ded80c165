"""The `wifi-cloud` family's simulated vendor cloud under the embedded stack."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from simulators.family_simulator import SimulatorContext, StartedSimulator
from simulators.wifi_cloud.config import CloudConfig
from simulators.wifi_cloud.server import start_cloud_simulator


@contextlib.asynccontextmanager
async def simulated_wifi_cloud(context: SimulatorContext) -> AsyncIterator[StartedSimulator]:
    """The vendor cloud on loopback (`DEVPROV_CLOUD_PORT`); devices check in by themselves."""
    cloud_settings = context.settings.cloud
    cloud = await start_cloud_simulator(
        CloudConfig(auto_checkin_delay=0.5), host="127.0.0.1", port=cloud_settings.port
    )
    try:
        yield StartedSimulator(
            lines=[("Simulated cloud", f"{cloud_settings.base_url}/_sim/cloud/state")]
        )
    finally:
        await cloud.close()
