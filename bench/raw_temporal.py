"""The raw-Temporal baseline: a fleet of the same shape with no devprov in it.

A parent workflow starts one child per device with the same concurrency bound; each
child runs the same number of trivial activities on the same kinds of task queues as
devprov's composite `wifi-cloud` run: four on an edge queue (detect, read-state, apply,
confirm) and five on the central one (keys, credential, register, policy, check-in).
What devprov adds on top of this (state, events, search attributes, compensation, HTTP
to the simulated devices and cloud) is what the benchmark's ratio measures.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import timedelta

import httpx
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

STATE = SearchAttributeKey.for_keyword("ProvisioningState")
"""devprov's own key (registered on the bench's server), for the visibility variant."""

RAW_WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "bench", "pydantic", "pydantic_core"
    )
)
"""The sandbox pass-through devprov's central worker has (`worker.workers.WORKFLOW_RUNNER`),
for the baseline's own pure module: neither side re-imports its workflows for every run."""

EDGE_STEPS = ("detect", "read_state", "apply", "confirm_joined")
CENTRAL_STEPS = ("make_keys", "issue", "register", "attach_policy", "await_checkin")


class RawFleet(BaseModel):
    device_ids: list[str]
    max_in_flight: int
    edge_queue: str
    central_queue: str
    registry_steps: bool = False
    """Each child also claims the device first and records its outcome last (two more
    central activities), as devprov's runs do in its registry."""


class RawDevice(BaseModel):
    device_id: str
    edge_queue: str
    central_queue: str
    registry_steps: bool = False


@activity.defn(name="raw.step")
async def raw_step(device_id: str) -> str:
    return device_id


@workflow.defn(name="RawDeviceRun")
class RawDeviceRun:
    @workflow.run
    async def run(self, device: RawDevice) -> None:
        registry = ("claim",) if device.registry_steps else ()
        for queue, steps in (
            (device.central_queue, registry),
            (device.edge_queue, EDGE_STEPS),
            (device.central_queue, CENTRAL_STEPS + (("outcome",) if registry else ())),
        ):
            for _ in steps:
                await workflow.execute_activity(
                    raw_step,
                    device.device_id,
                    task_queue=queue,
                    start_to_close_timeout=timedelta(seconds=30),
                )


@workflow.defn(name="RawFleetRun")
class RawFleetRun:
    @workflow.run
    async def run(self, fleet: RawFleet) -> int:
        semaphore = asyncio.Semaphore(fleet.max_in_flight)

        async def one(device_id: str) -> None:
            async with semaphore:
                await workflow.execute_child_workflow(
                    RawDeviceRun.run,
                    RawDevice(
                        device_id=device_id,
                        edge_queue=fleet.edge_queue,
                        central_queue=fleet.central_queue,
                        registry_steps=fleet.registry_steps,
                    ),
                    id=f"raw-{device_id}",
                )

        await asyncio.gather(*(one(d) for d in fleet.device_ids))
        return len(fleet.device_ids)


class RawPipeline(BaseModel):
    device_id: str
    steps: int
    queue: str
    state_updates: bool = False
    """Update a search attribute before each step and at the end, as devprov records
    each state change in visibility: the baseline of the same visibility writes."""


@workflow.defn(name="RawPipelineRun")
class RawPipelineRun:
    """One device's run with `steps` trivial activities in a row: the baseline of a
    single strategy run (HTTP Wi-Fi: detect, read state, apply, confirm)."""

    @workflow.run
    async def run(self, pipeline: RawPipeline) -> None:
        for step in range(pipeline.steps):
            if pipeline.state_updates:
                workflow.upsert_search_attributes([STATE.value_set(f"STEP_{step}")])
            await workflow.execute_activity(
                raw_step,
                pipeline.device_id,
                task_queue=pipeline.queue,
                start_to_close_timeout=timedelta(seconds=30),
            )
        if pipeline.state_updates:
            workflow.upsert_search_attributes([STATE.value_set("DONE")])


LAB_SSID, LAB_PASSPHRASE = "devprov-lab", "correct-horse-battery"
"""The simulator's lab network, which devprov's requests name too."""

DEVICE_STEPS: tuple[tuple[tuple[str, dict[str, object] | None], ...], ...] = (
    (("Shelly.GetDeviceInfo", None),),
    (("WiFi.GetConfig", None),),
    (
        (
            "WiFi.SetConfig",
            {"config": {"sta": {"ssid": LAB_SSID, "pass": LAB_PASSPHRASE, "enable": True}}},
        ),
    ),
    (("WiFi.GetStatus", None),),
)
"""The device calls an HTTP Wi-Fi run needs, by step (detect, read state, apply,
confirm): the Shelly Gen2 RPC methods the protocol asks for, each once."""


class RawProvisioning(BaseModel):
    device_id: str
    central_queue: str
    edge_queue: str
    device_url: str | None = None
    """The device's base URL on the HTTP simulator; None: trivial activities."""
    registry_path: str | None = None
    """A SQLite file the claim and outcome are written to; None: trivial activities."""


class DeviceStep(BaseModel):
    url: str
    step: int


class RegistryWrite(BaseModel):
    path: str
    device_id: str
    state: str


class RawDeviceActivities:
    """The same-I/O baseline's activities: plain Shelly RPC frames over one httpx client,
    and one row written to SQLite per registry step, with nothing of devprov around them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._ids = itertools.count(1)

    @activity.defn(name="raw.device_step")
    async def device_step(self, step: DeviceStep) -> None:
        for method, params in DEVICE_STEPS[step.step]:
            frame: dict[str, object] = {"id": next(self._ids), "src": "raw", "method": method}
            if params is not None:
                frame["params"] = params
            response = await self._http.post(f"{step.url}/rpc", json=frame)
            response.raise_for_status()

    @activity.defn(name="raw.registry_write")
    async def registry_write(self, write: RegistryWrite) -> None:
        await asyncio.to_thread(_write_row, write)


def _write_row(write: RegistryWrite) -> None:
    with sqlite3.connect(write.path, timeout=30) as db:
        db.execute("CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, state TEXT)")
        db.execute(
            "INSERT INTO devices VALUES (?, ?) ON CONFLICT(device_id) DO UPDATE SET state = ?",
            (write.device_id, write.state, write.state),
        )


@workflow.defn(name="RawProvisioningRun")
class RawProvisioningRun:
    """One device's run shaped as devprov's HTTP Wi-Fi run: a claim on the central queue,
    four device steps on the edge queue, the outcome on the central queue. With a device
    URL and a registry file the steps do the same I/O as devprov's; without, nothing."""

    @workflow.run
    async def run(self, run: RawProvisioning) -> None:
        timeout = timedelta(seconds=30)
        await self._record(run, "CLAIMED", timeout)
        for step in range(len(DEVICE_STEPS)):
            if run.device_url is None:
                await workflow.execute_activity(
                    raw_step, run.device_id, task_queue=run.edge_queue,
                    start_to_close_timeout=timeout,
                )  # fmt: skip
            else:
                await workflow.execute_activity(
                    "raw.device_step", DeviceStep(url=run.device_url, step=step),
                    task_queue=run.edge_queue, start_to_close_timeout=timeout,
                )  # fmt: skip
        await self._record(run, "SUCCEEDED", timeout)

    @staticmethod
    async def _record(run: RawProvisioning, state: str, timeout: timedelta) -> None:
        if run.registry_path is None:
            await workflow.execute_activity(
                raw_step, run.device_id, task_queue=run.central_queue,
                start_to_close_timeout=timeout,
            )  # fmt: skip
        else:
            await workflow.execute_activity(
                "raw.registry_write",
                RegistryWrite(path=run.registry_path, device_id=run.device_id, state=state),
                task_queue=run.central_queue, start_to_close_timeout=timeout,
            )  # fmt: skip
