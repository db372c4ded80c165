"""A step that waits for a person to act on the device shows WAITING_FOR_DEVICE."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle

from config.policies import load_policy_book
from domain.device import DeviceDescriptor
from domain.progress import ProvisionResult
from domain.requests import ProvisionRequest
from domain.run import ProvisionRun, workflow_id_for
from domain.states import ProvisioningState as S
from tests.workflows.button_workflow import BUTTON_SPEC, ButtonTestWorkflow
from tests.workflows.helpers import new_device_id, progress, states_seen, wait_for_state
from worker.workers import central_worker, edge_worker

WAITING_STEP_HEARTBEATS = {"DEVPROV_POLICY__DEFAULTS__STEPS__PROVISION__HEARTBEAT": "1s"}


@dataclass
class Button:
    pressed: asyncio.Event
    applied: int = 0
    resets: int = 0

    def activities(self) -> list[object]:
        button = self

        @activity.defn(name="button.wait_pressed")
        async def wait_pressed(device: DeviceDescriptor) -> None:
            while not button.pressed.is_set():
                activity.heartbeat()
                await asyncio.sleep(0.05)

        @activity.defn(name="button.apply")
        async def apply(device: DeviceDescriptor) -> None:
            button.applied += 1

        @activity.defn(name="button.reset")
        async def reset(device: DeviceDescriptor) -> None:
            button.resets += 1

        return [wait_pressed, apply, reset]


@pytest.fixture
def button() -> Button:
    return Button(pressed=asyncio.Event())


@pytest.fixture
async def task_queue(temporal_client: Client, site: str, button: Button) -> AsyncIterator[str]:
    queue = f"central-{uuid.uuid4().hex[:8]}"
    async with (
        central_worker(temporal_client, task_queue=queue, workflows=[ButtonTestWorkflow]),
        edge_worker(temporal_client, site=site, activities=button.activities()),
    ):
        yield queue


async def start(client: Client, site: str, queue: str) -> WorkflowHandle[Any, ProvisionResult]:
    device = DeviceDescriptor(device_id=new_device_id(), type="t", vendor="v", site=site)
    run = ProvisionRun(
        request=ProvisionRequest(device=device),
        strategy=BUTTON_SPEC.name,
        # A step that waits for a person heartbeats, as Improv's provision step does:
        # a cancel or retry reaches it at its next heartbeat, not at its timeout.
        policy=load_policy_book(environ=WAITING_STEP_HEARTBEATS).for_strategy(BUTTON_SPEC.name),
    )
    return await client.start_workflow(
        BUTTON_SPEC.workflow,
        run,
        id=workflow_id_for(device.device_id),
        task_queue=queue,
        result_type=ProvisionResult,
    )


async def test_run_waits_for_the_button_then_resumes_provisioning(
    temporal_client: Client, site: str, task_queue: str, button: Button
) -> None:
    handle = await start(temporal_client, site, task_queue)

    waiting = await wait_for_state(handle, S.WAITING_FOR_DEVICE)
    assert waiting.message == "press the button on the device"
    assert waiting.awaiting == ["device", "retry"]
    button.pressed.set()

    assert (await handle.result()).state is S.SUCCEEDED
    seen = states_seen(await progress(handle))
    assert seen[-5:] == [
        S.PROVISIONING,
        S.WAITING_FOR_DEVICE,
        S.PROVISIONING,
        S.CONFIRMING,
        S.SUCCEEDED,
    ]
    assert button.applied == 1


async def test_retry_while_waiting_for_the_button_rolls_back_and_starts_over(
    temporal_client: Client, site: str, task_queue: str, button: Button
) -> None:
    handle = await start(temporal_client, site, task_queue)
    await wait_for_state(handle, S.WAITING_FOR_DEVICE)

    await handle.execute_update("retry")
    snapshot = await wait_for_state(handle, S.WAITING_FOR_DEVICE)
    assert snapshot.attempt == 2
    assert button.resets == 1
    button.pressed.set()

    assert (await handle.result()).state is S.SUCCEEDED
    assert button.applied == 1
