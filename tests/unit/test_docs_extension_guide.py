"""docs/families.md's guide to adding a device family works as written.

The guide's code blocks (each starts with `# <path>`) are written as a package in a
temporary directory outside the repository and installed there with pip; devprov
finds the family by its `devprov.families` entry point alone. A fake beacon is then
provisioned through it — by the workflow on the session's Temporal server, and end to
end through the API — and no file of the repository changes. The API serves the
family's request schema and example, checks requests with it, and runs start with the
step policies its descriptor declares.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import ApiDependencies, create_app
from config.policies import load_policy_book
from config.settings import ApiSettings, EdgeSettings, Settings, WorkerSettings
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.progress import ProvisionResult
from domain.requests import ProvisionRequest
from domain.run import ProvisionRun, workflow_id_for
from domain.states import ProvisioningState, Step
from strategies.catalog import build_registry
from strategies.family import DeviceFamily, installed_families
from tests.api.conftest import ApiClient, run_path, wait_for_state
from worker.capabilities import SimulatedWorld
from worker.edge import edge_node
from worker.workers import central_worker, edge_worker
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "families.md"
PYTHON_BLOCK = re.compile(r"```python\n# ([\w/]+\.py)\n(.*?)```", re.DOTALL)
TOML_BLOCK = re.compile(r"```toml\n# (pyproject\.toml)\n(.*?)```", re.DOTALL)
PACKAGE = "beacon_family"


def guide_files() -> dict[str, str]:
    """Path -> source of each code block of the guide."""
    text = GUIDE.read_text()
    return dict(PYTHON_BLOCK.findall(text) + TOML_BLOCK.findall(text))


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def beacon_family(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeviceFamily]:
    """The guide's package, built and installed by pip into a directory of its own
    (outside the repository and the virtualenv), that directory put on `sys.path`."""
    project = tmp_path_factory.mktemp("beacon-family")
    for path, source in guide_files().items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(source)
    site = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(project),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        (family,) = [f for f in installed_families() if f.name == "beacon"]
        yield family
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
        importlib.invalidate_caches()


class FakeBeacons:
    """The beacons' transport: beacons in memory."""

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


def test_guide_has_the_adapter_strategy_activities_workflow_wiring_and_descriptor() -> None:
    assert set(guide_files()) == {
        f"{PACKAGE}/adapter.py",
        f"{PACKAGE}/strategy.py",
        f"{PACKAGE}/activities.py",
        f"{PACKAGE}/workflow.py",
        f"{PACKAGE}/wiring.py",
        f"{PACKAGE}/__init__.py",
        "pyproject.toml",
    }


def test_registry_selects_the_new_strategy(beacon_family: DeviceFamily) -> None:
    registry = build_registry()

    assert registry.select(beacon("b1", "lab")).name == "beacon"


def test_the_new_family_is_found_by_its_entry_point_alone(beacon_family: DeviceFamily) -> None:
    assert beacon_family.make_strategy().name == "beacon"
    assert not any(path.name.startswith(PACKAGE) for path in ROOT.iterdir())


def test_the_new_familys_runs_start_with_the_policies_its_descriptor_declares(
    beacon_family: DeviceFamily,
) -> None:
    confirm = load_policy_book(environ={}).for_strategy("beacon").for_step(Step.CONFIRM)
    overridden = load_policy_book(
        environ={"DEVPROV_POLICY__STRATEGIES__BEACON__STEPS__CONFIRM__START_TO_CLOSE": "45s"}
    ).for_strategy("beacon")

    assert confirm.start_to_close == timedelta(seconds=20)
    assert confirm.heartbeat == timedelta(seconds=5)  # the shared default's
    assert overridden.for_step(Step.CONFIRM).start_to_close == timedelta(seconds=45)


async def test_a_beacon_is_provisioned_through_the_guides_code(
    beacon_family: DeviceFamily, temporal_env: WorkflowEnvironment, site: str
) -> None:
    adapter_module = importlib.import_module(f"{PACKAGE}.adapter")
    activities_module = importlib.import_module(f"{PACKAGE}.activities")
    client = temporal_env.client
    device_id = f"beacon-{uuid.uuid4().hex[:8]}"
    transport = FakeBeacons({device_id: {"model": "B1"}})
    adapter = adapter_module.BeaconAdapter(transport)
    activities: list[Any] = activities_module.BeaconActivities(adapter).all()
    workflow_class: Any = beacon_family.workflow_class()
    device = beacon(device_id, site)
    run = ProvisionRun(
        request=ProvisionRequest(device=device),
        strategy="beacon",
        policy=load_policy_book().for_strategy("beacon"),
    )
    queue = f"central-{uuid.uuid4().hex[:8]}"

    async with (
        # A central worker: devprov's runner (its packages pass through the sandbox) and
        # the registry's claim and outcome activities every run takes.
        central_worker(client, task_queue=queue, workflows=[workflow_class]),
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


@pytest.fixture
async def beacon_stack(
    beacon_family: DeviceFamily,
    temporal_client: Client,
    site: str,
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
) -> AsyncIterator[tuple[ApiClient, FakeBeacons]]:
    """The API, a central worker and a gateway hosting only the beacon capability, all
    built from the installed families; the gateway hears simulated beacons."""
    wiring = importlib.import_module(f"{PACKAGE}.wiring")
    beacons = FakeBeacons({})
    world = SimulatedWorld()
    world.share(wiring.SIMULATED_BEACONS, beacons)
    settings = Settings(
        api=ApiSettings.defaults(sse_poll_interval_seconds=0.1),
        edge=EdgeSettings.defaults(capabilities=("beacon",)),
        worker=WorkerSettings.defaults(data_dir=tmp_path),
    )
    queue = f"central-{uuid.uuid4().hex[:8]}"
    deps = ApiDependencies(
        temporal=temporal_client,
        registry=build_registry(),
        policies=load_policy_book(),
        settings=settings,
        task_queue=queue,
    )
    async with (
        central_worker(temporal_client, task_queue=queue),
        edge_node(temporal_client, settings, site=site, host="gw1", world=world),
    ):
        yield await aiohttp_client(create_app(deps)), beacons


async def test_a_beacon_family_installed_outside_the_tree_provisions_through_the_api(
    beacon_stack: tuple[ApiClient, FakeBeacons], site: str
) -> None:
    before = git_status()
    api, beacons = beacon_stack
    device_id = f"beacon-{uuid.uuid4().hex[:8]}"
    beacons.beacons[device_id] = {"model": "B1"}
    body = {
        "device": {
            "type": "beacon",
            "vendor": "acme",
            "model": "B1",
            "capabilities": ["beacon-name"],
            "site": site,
        }
    }

    started = await api.post(run_path(device_id), json=body)
    assert started.status == 202
    assert (await started.json())["strategy"] == "beacon"
    status = await wait_for_state(api, device_id, "SUCCEEDED")

    assert status["strategy"] == "beacon"
    assert beacons.beacons[device_id]["name"] == f"beacon-{site}"
    listed = await (await api.get("/api/v1/strategies")).json()
    assert "beacon" in {strategy["name"] for strategy in listed}
    assert git_status() == before


async def test_the_api_serves_and_checks_the_request_schema_of_a_plugin_family(
    beacon_stack: tuple[ApiClient, FakeBeacons], site: str
) -> None:
    api, _ = beacon_stack
    listed = {s["name"]: s for s in await (await api.get("/api/v1/strategies")).json()}
    document = await (await api.get("/api/v1/openapi.json")).json()
    device_id = f"beacon-{uuid.uuid4().hex[:8]}"
    without_model = {
        "device": {"type": "beacon", "vendor": "acme", "capabilities": ["beacon-name"]}
    }

    refused = await api.post(run_path(device_id), json=without_model)

    schema = listed["beacon"]["request_schema"]
    assert schema["title"] == "BeaconRequest"
    assert "model" in schema["$defs"]["BeaconDevice"]["required"]
    assert [e["title"] for e in listed["beacon"]["examples"]] == ["Beacon at the lab's door"]
    start = document["paths"]["/api/v1/devices/{device_id}/provision"]["post"]
    ref = start["requestBody"]["x-devprov-family-requests"]["beacon"]["$ref"]
    assert document["components"]["schemas"][ref.rsplit("/", 1)[-1]]["title"] == "BeaconRequest"
    assert refused.status == 422
    problem = await refused.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert [error["loc"] for error in problem["errors"]] == [["device", "model"]]
    assert (await api.get(run_path(device_id))).status == 404


async def test_a_plugin_familys_own_error_code_ends_its_run_with_no_shared_edit(
    beacon_stack: tuple[ApiClient, FakeBeacons], beacon_family: DeviceFamily, site: str
) -> None:
    before = git_status()
    api, beacons = beacon_stack
    device_id = f"beacon-{uuid.uuid4().hex[:8]}"
    beacons.beacons[device_id] = {"model": "B1", "locked": "yes"}
    body = {
        "device": {
            "type": "beacon",
            "vendor": "acme",
            "model": "B1",
            "capabilities": ["beacon-name"],
            "site": site,
        }
    }

    started = await api.post(run_path(device_id), json=body)
    assert started.status == 202
    status = await wait_for_state(api, device_id, "FAILED")

    assert beacon_family.error_codes == {"BEACON_LOCKED"}
    assert "BEACON_LOCKED" not in {code.value for code in ErrorCode}
    assert status["error_code"] == "BEACON_LOCKED"
    assert status["events"][-1]["error_code"] == "BEACON_LOCKED"
    assert "name" not in beacons.beacons[device_id]
    assert git_status() == before
