"""docs/architecture.md's guide to adding a strategy and an adapter works as written.

The guide's code blocks (each starts with `# <path>.py`) are imported as the modules
they name and a fake beacon is provisioned through them on the session's Temporal
server: selected by the registry, run by the workflow, its steps on an edge worker.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from config.policies import load_policy_book
from domain.device import DeviceDescriptor
from domain.progress import ProvisionResult
from domain.requests import ProvisionRequest
from domain.run import ProvisionRun, workflow_id_for
from domain.states import ProvisioningState
from strategies.catalog import build_registry, installed_strategies
from worker.workers import edge_worker
from workflows import search_attributes as sa

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
BLOCK = re.compile(r"```python\n# ([\w/]+)\.py\n(.*?)```", re.DOTALL)


def guide_files() -> dict[str, str]:
    """Module name -> source of each code block of the guide."""
    text = GUIDE.read_text().split("## Adding a strategy and an adapter", 1)[1]
    return {path.replace("/", "."): source for path, source in BLOCK.findall(text)}


class _GuideFinder(importlib.abc.MetaPathFinder):
    """Finds the guide's modules (also inside the workflow sandbox, which imports anew)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self._files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._files:
            return None
        return importlib.util.spec_from_file_location(fullname, self._files[fullname])


@pytest.fixture
def guide_modules(tmp_path: Path) -> Iterator[dict[str, ModuleType]]:
    files = {}
    for name, source in guide_files().items():
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        files[name] = path
    finder = _GuideFinder(files)
    sys.meta_path.insert(0, finder)
    try:
        yield {name: importlib.import_module(name) for name in files}
    finally:
        sys.meta_path.remove(finder)
        for name in files:
            sys.modules.pop(name, None)


class FakeBeacons:
    """The transport of the guide's adapter: beacons in memory."""

    def __init__(self, beacons: dict[str, dict[str, str]]) -> None:
        self.beacons = beacons

    async def read(self, device_id: str) -> dict[str, str] | None:
        state = self.beacons.get(device_id)
        return dict(state) if state is not None else None

    async def write(self, device_id: str, values: dict[str, str]) -> None:
        self.beacons[device_id].update(values)


def beacon(device_id: str, site: str) -> DeviceDescriptor:
    return DeviceDescriptor(
        device_id=device_id,
        type="beacon",
        vendor="acme",
        model="B1",
        capabilities=frozenset({"beacon-name"}),
        site=site,
    )


def test_guide_has_the_adapter_strategy_activities_and_workflow() -> None:
    assert set(guide_files()) == {
        "adapters.beacon",
        "strategies.beacon",
        "activities.beacon",
        "workflows.beacon",
    }


def test_registry_selects_the_new_strategy(guide_modules: dict[str, ModuleType]) -> None:
    strategy = guide_modules["strategies.beacon"].BeaconStrategy()
    registry = build_registry(strategies=[*installed_strategies(), strategy])

    assert registry.select(beacon("b1", "lab")).name == "beacon"


async def test_a_beacon_is_provisioned_through_the_guides_code(
    guide_modules: dict[str, ModuleType], temporal_env: WorkflowEnvironment, site: str
) -> None:
    client = temporal_env.client
    device_id = f"beacon-{uuid.uuid4().hex[:8]}"
    transport = FakeBeacons({device_id: {"model": "B1"}})
    adapter = guide_modules["adapters.beacon"].BeaconAdapter(transport)
    activities: list[Any] = guide_modules["activities.beacon"].BeaconActivities(adapter).all()
    workflow_class = guide_modules["workflows.beacon"].BeaconProvisioningWorkflow
    device = beacon(device_id, site)
    run = ProvisionRun(
        request=ProvisionRequest(device=device),
        strategy="beacon",
        policy=load_policy_book().for_strategy("beacon"),
    )
    queue = f"central-{uuid.uuid4().hex[:8]}"

    async with (
        Worker(client, task_queue=queue, workflows=[workflow_class]),
        edge_worker(client, site=site, activities=activities),
    ):
        handle = await client.start_workflow(
            workflow_class.spec.workflow,
            run,
            id=workflow_id_for(device_id),
            task_queue=queue,
            result_type=ProvisionResult,
            search_attributes=sa.initial_search_attributes(run),
        )
        result = await handle.result()

    assert result.state is ProvisioningState.SUCCEEDED
    assert transport.beacons[device_id]["name"] == f"beacon-{site}"
