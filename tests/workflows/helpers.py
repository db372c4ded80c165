"""Building runs and reading their progress in workflow tests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle

from config.policies import load_policy_book
from domain.device import DeviceDescriptor
from domain.progress import ProgressSnapshot, ProvisionResult
from domain.requests import NetworkCredentials, ProvisionRequest
from domain.run import PROGRESS_QUERY, ProvisionRun, workflow_id_for
from domain.states import ProvisioningState
from strategies.http_wifi import HTTP_WIFI_SPEC
from workflows import search_attributes as sa

GOOD_PASSPHRASE = "correct-horse-battery"

FAST_POLICY_ENV = {
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "200ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "3s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__INITIAL_INTERVAL": "100ms",
    "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__MAXIMUM_ATTEMPTS": "1",
    "DEVPROV_POLICY__DEFAULTS__STEPS__CONFIRM__RETRY__INITIAL_INTERVAL": "100ms",
    "DEVPROV_POLICY__DEFAULTS__STEPS__ROLLBACK__RETRY__INITIAL_INTERVAL": "100ms",
    "DEVPROV_POLICY__DEFAULTS__STEPS__PROVISION__RETRY__INITIAL_INTERVAL": "100ms",
}


def new_device_id() -> str:
    return f"dev-{uuid.uuid4().hex[:8]}"


def network(passphrase: str = GOOD_PASSPHRASE, ssid: str = "devprov-lab") -> NetworkCredentials:
    return NetworkCredentials.model_validate({"ssid": ssid, "passphrase": passphrase})


def http_wifi_run(
    device_id: str,
    site: str,
    *,
    with_network: NetworkCredentials | None = None,
    policy_env: dict[str, str] | None = None,
) -> ProvisionRun:
    device = DeviceDescriptor(
        device_id=device_id,
        type="wifi-relay",
        vendor="shelly",
        capabilities=frozenset({"wifi", "http-rpc"}),
        site=site,
    )
    book = load_policy_book(environ={**FAST_POLICY_ENV, **(policy_env or {})})
    return ProvisionRun(
        request=ProvisionRequest(device=device, network=with_network),
        strategy=HTTP_WIFI_SPEC.name,
        policy=book.for_strategy(HTTP_WIFI_SPEC.name),
    )


async def start_run(
    client: Client, run: ProvisionRun, task_queue: str
) -> WorkflowHandle[Any, ProvisionResult]:
    return await client.start_workflow(
        HTTP_WIFI_SPEC.workflow,
        run,
        id=workflow_id_for(run.device_id),
        task_queue=task_queue,
        result_type=ProvisionResult,
        search_attributes=sa.initial_search_attributes(run),
    )


async def progress(handle: WorkflowHandle[Any, ProvisionResult]) -> ProgressSnapshot:
    snapshot: ProgressSnapshot = await handle.query(PROGRESS_QUERY, result_type=ProgressSnapshot)
    return snapshot


async def wait_for_state(
    handle: WorkflowHandle[Any, ProvisionResult], state: ProvisioningState, timeout: float = 20.0
) -> ProgressSnapshot:
    """Poll the progress query until the run reaches `state`."""
    async with asyncio.timeout(timeout):
        while True:
            snapshot = await progress(handle)
            if snapshot.state is state:
                return snapshot
            if snapshot.state.is_terminal:
                raise AssertionError(f"run ended {snapshot.state}: {snapshot.message}")
            await asyncio.sleep(0.1)


def states_seen(snapshot: ProgressSnapshot) -> list[ProvisioningState]:
    """States in event order, without repeats of the same state in a row."""
    seen: list[ProvisioningState] = []
    for event in snapshot.events:
        if not seen or seen[-1] is not event.state:
            seen.append(event.state)
    return seen
