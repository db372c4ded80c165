"""The runbook's nudge for a run left with nothing pending (docs/runbooks/
worker-not-polling.md): a signal no workflow handles gives the run a new workflow task
and changes nothing else."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.states import ProvisioningState as S
from tests.fakes import FakeWifiDevice
from tests.workflows.helpers import http_wifi_run, network, new_device_id, start_run, wait_for_state
from tests.workflows.test_edge_pinning import site_worker

WAKE_SIGNAL = "devprov.wake"
"""The signal name the runbook gives (any name no workflow handles would do)."""


async def test_a_run_woken_by_a_signal_it_does_not_handle_carries_on(
    temporal_client: Client, central: str, site: str
) -> None:
    device = FakeWifiDevice(device_id=new_device_id())
    run = http_wifi_run(device.device_id, site)
    async with site_worker(temporal_client, site, device):
        handle = await start_run(temporal_client, run, central)
        await wait_for_state(handle, S.PENDING_NETWORK)
        await handle.signal(WAKE_SIGNAL)
        await handle.execute_update("submit_credentials", network())
        result = await handle.result()

    assert result.state is S.SUCCEEDED
    assert device.configured_ssid == network().ssid
    kinds = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in kinds
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
