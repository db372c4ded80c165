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
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

STATE = SearchAttributeKey.for_keyword("ProvisioningState")
"""devprov's own key (registered on the bench's server), for the visibility variant."""

EDGE_STEPS = ("detect", "read_state", "apply", "confirm_joined")
CENTRAL_STEPS = ("make_keys", "issue", "register", "attach_policy", "await_checkin")


class RawFleet(BaseModel):
    device_ids: list[str]
    max_in_flight: int
    edge_queue: str
    central_queue: str


class RawDevice(BaseModel):
    device_id: str
    edge_queue: str
    central_queue: str


@activity.defn(name="raw.step")
async def raw_step(device_id: str) -> str:
    return device_id


@workflow.defn(name="RawDeviceRun")
class RawDeviceRun:
    @workflow.run
    async def run(self, device: RawDevice) -> None:
        for queue, steps in (
            (device.edge_queue, EDGE_STEPS),
            (device.central_queue, CENTRAL_STEPS),
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
