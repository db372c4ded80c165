"""The SDK against the real pipeline: API, workers, simulated HTTP Wi-Fi device."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from client import DevprovClient, ProvisioningOutcome, ReconnectPolicy
from domain.api_models import StartedRun, StrategyMatch
from domain.device import DeviceDescriptor
from domain.progress import StreamedEvent
from simulators.http_wifi import SimulatedWifiDevice
from tests.client.proxy import SeverableProxy, severable_proxy
from tests.integration.conftest import (  # noqa: F401  (the pipeline's fixtures)
    ApiClient,
    device,
    pipeline,
    registered_pipeline,
    simulator,
)

FAST_RECONNECT = ReconnectPolicy(initial_delay=0.05, max_delay=0.5, read_timeout=10)


@pytest.fixture
async def proxy(pipeline: ApiClient) -> AsyncIterator[SeverableProxy]:  # noqa: F811
    """A proxy in front of the API, to drop the SDK's connections."""
    port = pipeline.server.port
    assert port is not None
    async with severable_proxy(port) as running:
        yield running


@pytest.fixture
async def sdk(proxy: SeverableProxy) -> AsyncIterator[DevprovClient]:
    async with DevprovClient(proxy.url, reconnect=FAST_RECONNECT) as client:
        yield client


def descriptor(device: SimulatedWifiDevice, site: str) -> DeviceDescriptor:  # noqa: F811
    return DeviceDescriptor(
        device_id=device.device_id,
        type="wifi-relay",
        vendor="shelly",
        capabilities=frozenset({"wifi", "http-rpc"}),
        site=site,
    )


@dataclass
class RecordingView:
    """A `ProvisioningView` that records what a person would have seen."""

    retries: list[bool] = field(default_factory=list)
    matches: list[StrategyMatch] = field(default_factory=list)
    runs: list[StartedRun] = field(default_factory=list)
    events: list[StreamedEvent] = field(default_factory=list)
    device_prompts: list[str] = field(default_factory=list)
    resumed: list[int | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcomes: list[ProvisioningOutcome] = field(default_factory=list)

    def strategy_selected(self, device: DeviceDescriptor, match: StrategyMatch) -> None:  # noqa: F811
        self.matches.append(match)

    def run_started(self, device_id: str, run: StartedRun) -> None:
        self.runs.append(run)

    def progress(self, event: StreamedEvent) -> None:
        self.events.append(event)

    def device_action_needed(self, event: StreamedEvent) -> None:
        self.device_prompts.append(event.message)

    def stream_resumed(self, last_event_id: int | None) -> None:
        self.resumed.append(last_event_id)

    def note(self, message: str) -> None:
        self.notes.append(message)

    async def offer_retry(self, outcome: ProvisioningOutcome) -> bool:
        self.outcomes.append(outcome)
        return self.retries.pop(0) if self.retries else False

    def states(self) -> list[str]:
        return [event.state.value for event in self.events]
