"""Fixtures of the contract tests: real adapters against real simulators on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.http_wifi import HttpWifiAdapter
from simulators.http_wifi import (
    RunningSimulator,
    SimulatedWifiDevice,
    WifiDeviceFleet,
    start_simulator,
)
from tests.aws_fixtures import (  # noqa: F401  (fixtures of the AWS IoT contract tests)
    aws_env,
    fault_proxy,
    moto_iot,
    sdk_session,
)
from tests.ble_fixtures import (  # noqa: F401  (fixtures of the BLE contract tests)
    ble_radio,
    ble_stack,
    improv_adapter,
    improv_fleet,
    improv_specs,
    improv_web,
)

ADAPTER_TIMEOUT = 1.0


@pytest.fixture
def wifi_fleet() -> WifiDeviceFleet:
    """Two set-up-mode devices that join instantly; tests slow them down as needed."""
    return WifiDeviceFleet(
        [
            SimulatedWifiDevice("plug-kitchen", join_delay=0.0),
            SimulatedWifiDevice("pro4-lab", model="SPSW-004PE16EU", join_delay=0.0),
        ]
    )


@pytest.fixture
async def wifi_simulator(wifi_fleet: WifiDeviceFleet) -> AsyncIterator[RunningSimulator]:
    """The simulator on a free loopback port, stopped after the test."""
    simulator = await start_simulator(wifi_fleet, "127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.close()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    # Loopback traffic must not be sent to a proxy configured in the environment.
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def wifi_adapter(
    wifi_simulator: RunningSimulator, http_client: httpx.AsyncClient
) -> HttpWifiAdapter:
    """The adapter, addressing devices through the simulator's URL template."""
    return HttpWifiAdapter(
        http_client,
        f"{wifi_simulator.base_url}/devices/{{device_id}}",
        timeout=ADAPTER_TIMEOUT,
    )
