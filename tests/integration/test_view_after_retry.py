"""Issue 15, case 4: every view of a device's run follows the run a retry started.

The reported sequence, against real parts: the Temporal dev server, the real workers
and workflows, the HTTP Wi-Fi simulator (its `unreachable` fault switched on and off)
and the API with the stream poll interval `make run` uses. A run waits in
PENDING_NETWORK and is cancelled; the device goes out of reach; `POST .../retry` starts
a new run with the same workflow id; the device comes back and the new run asks for
credentials again.

The ground truth is the workflow's own record, read through the Temporal client: the
execution status of each run and its `ProvisioningState` search attribute. Every read
the API offers must show what that record says within about a second:

- `GET .../provision` (the progress snapshot),
- an event stream opened on the first run (it shows that run's end, then ends),
- an event stream opened right after the retry (it shows the new run only),
- an event stream opened once the new run waits for credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from config.policies import load_policy_book
from config.settings import Settings
from domain.run import workflow_id_for
from simulators.http_wifi import RunningSimulator, SimulatedWifiDevice
from tests.integration.conftest import ApiClient, request_body, serve_pipeline
from tests.sse import parse_block
from workflows.search_attributes import PROVISIONING_STATE

VIEW_LAG = 1.5
"""Seconds a view may trail the workflow: "about a second" (the API polls runs every
0.5 s, as under `make run`), plus scheduling slack on a busy 2-core machine."""

TRUTH_POLL = 0.02
"""Seconds between two reads of the ground truth."""


@pytest.fixture
async def api(
    temporal_client: Client,
    simulator: RunningSimulator,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> AsyncIterator[ApiClient]:
    """The API as `make run` configures it, with real workers and the simulated device."""
    async with serve_pipeline(
        temporal_client,
        simulator,
        site,
        aiohttp_client,
        policies=load_policy_book(environ={}),  # make run's timeouts and retries
        settings=Settings(),  # make run's stream poll interval
        stream_ping_seconds=1.0,
    ) as served:
        yield served


def run_path(device: SimulatedWifiDevice, action: str = "") -> str:
    base = f"/api/v1/devices/{device.device_id}/provision"
    return f"{base}/{action}" if action else base


def set_faults(device: SimulatedWifiDevice, **knobs: Any) -> None:
    device.faults = device.faults.model_copy(update=knobs)


def now() -> float:
    return asyncio.get_running_loop().time()


@dataclass
class Shown:
    """What one read of a view showed, and when."""

    at: float
    state: str
    updated_at: datetime
    run_id: str | None = None


@dataclass
class Stream:
    """An SSE stream of the run, read in the background as its events arrive."""

    name: str
    shown: list[Shown] = field(default_factory=list)
    ended_at: float | None = None
    task: asyncio.Task[None] | None = None

    def open(self, api: ApiClient, device: SimulatedWifiDevice) -> None:
        self.task = asyncio.create_task(self._read(api, device), name=self.name)

    async def _read(self, api: ApiClient, device: SimulatedWifiDevice) -> None:
        response = await api.get(run_path(device, "events"))
        assert response.status == 200, await response.text()
        block: list[str] = []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line:
                block.append(line)
                continue
            event = parse_block(block)
            block = []
            if event is not None:
                self.shown.append(
                    Shown(
                        now(),
                        event.data["state"],
                        datetime.fromisoformat(event.data["updated_at"]),
                    )
                )
        self.ended_at = now()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def first(self, state: str, *, since: datetime | None = None) -> Shown | None:
        """The first event in `state` (of a run that started at `since` or later)."""
        for shown in self.shown:
            if shown.state == state and (since is None or shown.updated_at >= since):
                return shown
        return None

    def story(self) -> str:
        return ", ".join(f"{s.state}@{s.updated_at:%H:%M:%S.%f}" for s in self.shown) or "nothing"


@dataclass
class StatusReads:
    """`GET .../provision`, read every 0.1 s in the background."""

    shown: list[Shown] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self, api: ApiClient, device: SimulatedWifiDevice) -> None:
        self.task = asyncio.create_task(self._read(api, device), name="status reads")

    async def _read(self, api: ApiClient, device: SimulatedWifiDevice) -> None:
        while True:
            asked = now()
            response = await api.get(run_path(device))
            assert response.status == 200, await response.text()
            body = await response.json()
            self.shown.append(
                Shown(
                    asked,
                    body["state"],
                    datetime.fromisoformat(body["updated_at"]),
                    body["run_id"],
                )
            )
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def truth_reached(
    client: Client,
    device: SimulatedWifiDevice,
    run_id: str,
    *,
    state: str | None = None,
    status: WorkflowExecutionStatus | None = None,
    timeout: float = 30.0,
) -> float:
    """When the run's own record first says `state` (search attribute) or `status`."""
    handle = client.get_workflow_handle(workflow_id_for(device.device_id), run_id=run_id)
    async with asyncio.timeout(timeout):
        while True:
            description = await handle.describe()
            if (
                state is not None
                and description.typed_search_attributes.get(PROVISIONING_STATE) == state
            ):
                return now()
            if status is not None and description.status is status:
                return now()
            await asyncio.sleep(TRUTH_POLL)


async def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_every_view_shows_the_new_run_within_a_second_after_a_retry(
    api: ApiClient,
    device: SimulatedWifiDevice,
    temporal_client: Client,
    site: str,
) -> None:
    workflow_id = workflow_id_for(device.device_id)
    before_cancel = Stream("stream opened on the first run")
    after_retry = Stream("stream opened right after the retry")
    at_prompt = Stream("stream opened once the new run asks for credentials")
    status = StatusReads()
    try:
        # A run without network credentials waits for them; a client follows it.
        started = await api.post(run_path(device), json=request_body(site, network=None))
        assert started.status == 202, await started.text()
        first_run = (await started.json())["run_id"]
        await truth_reached(temporal_client, device, first_run, state="PENDING_NETWORK")
        before_cancel.open(api, device)
        await wait_until(lambda: before_cancel.first("PENDING_NETWORK") is not None, 10)

        # Cancel it; once it has ended, the device goes out of reach and a retry
        # starts a new run of the same workflow id.
        cancelled = await api.post(run_path(device, "cancel"))
        assert cancelled.status == 202, await cancelled.text()
        first_closed = await truth_reached(
            temporal_client, device, first_run, status=WorkflowExecutionStatus.CANCELED
        )
        set_faults(device, unreachable=True)
        retried = await api.post(run_path(device, "retry"))
        assert retried.status == 202, await retried.text()
        second_run = (await retried.json())["run_id"]
        assert second_run != first_run
        second = await temporal_client.get_workflow_handle(
            workflow_id, run_id=second_run
        ).describe()
        second_started = second.start_time
        after_retry.open(api, device)
        status.start(api, device)

        # The device comes back: the new run finds it and asks for credentials again.
        await asyncio.sleep(0.5)
        set_faults(device, unreachable=False)
        second_waits = await truth_reached(
            temporal_client, device, second_run, state="PENDING_NETWORK"
        )
        at_prompt.open(api, device)
        await asyncio.sleep(VIEW_LAG + 1.0)
        end_of_reads = now()
    finally:
        await status.stop()
        for stream in (before_cancel, after_retry, at_prompt):
            await stream.close()
        with contextlib.suppress(RPCError):
            await temporal_client.get_workflow_handle(workflow_id).terminate("test cleanup")

    problems: list[str] = []

    # The stream of the first run shows its end, then ends (the streams' contract).
    end = before_cancel.first("CANCELLED")
    if end is None or end.at > first_closed + VIEW_LAG:
        problems.append(
            f"{before_cancel.name}: the first run was CANCELLED (Temporal) but the stream "
            + (
                "never showed it"
                if end is None
                else f"showed it {end.at - first_closed:.1f} s later"
            )
            + f"; it showed: {before_cancel.story()}"
        )
    if before_cancel.ended_at is None:
        problems.append(f"{before_cancel.name}: did not end after the run's terminal state")

    # A stream opened after the retry shows the new run, and its prompt in time.
    stale = [s for s in after_retry.shown if s.updated_at < second_started]
    if stale:
        problems.append(
            f"{after_retry.name}: showed {len(stale)} event(s) of the earlier run "
            f"({', '.join(s.state for s in stale)}) after the retry started a new one"
        )
    for stream in (after_retry, at_prompt):
        prompt = stream.first("PENDING_NETWORK", since=second_started)
        if prompt is None or prompt.at > second_waits + VIEW_LAG:
            problems.append(
                f"{stream.name}: the new run waits in PENDING_NETWORK (Temporal) but the "
                "stream "
                + (
                    "never showed it"
                    if prompt is None
                    else f"showed it {prompt.at - second_waits:.1f} s later"
                )
                + f"; it showed: {stream.story()}"
            )

    # GET answers for the new run, and with its current state once it waits.
    late_reads = [s for s in status.shown if second_waits + VIEW_LAG <= s.at <= end_of_reads]
    assert late_reads, "no GET was answered after the new run reached PENDING_NETWORK"
    wrong = [s for s in late_reads if (s.run_id, s.state) != (second_run, "PENDING_NETWORK")]
    if wrong:
        problems.append(
            f"GET: {len(wrong)} of {len(late_reads)} reads made more than {VIEW_LAG} s after "
            "the new run reached PENDING_NETWORK showed something else: "
            + ", ".join(
                f"{s.state} of run {'new' if s.run_id == second_run else s.run_id}"
                for s in wrong[:5]
            )
        )

    assert not problems, "\n".join(problems)
