"""The two admin actions on a device: freeing one whose run ended without recording its
outcome, and giving one to another tenant. Records are read back from the registry."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyStore, Scope, new_key
from domain.registry import DeviceClaim, DeviceState, RunKind
from registry import DeviceRegistry, opened_registry
from tests.api.conftest import ApiClient, bearer, provision_body, run_path

ADMIN_A, ADMIN_A_STORED = new_key("tenant-a", [Scope.ADMIN], key_id="admina")
OPERATOR_A, OPERATOR_A_STORED = new_key("tenant-a", [Scope.OPERATE, Scope.READ], key_id="opera")
ADMIN_B, ADMIN_B_STORED = new_key("tenant-b", [Scope.ADMIN], key_id="adminb")


@dataclasses.dataclass
class Admin:
    api: ApiClient
    registry: DeviceRegistry


@pytest.fixture
async def admin(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies, tmp_path: Path
) -> AsyncIterator[Admin]:
    async with opened_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}") as registry:
        auth = AuthConfig(KeyStore([ADMIN_A_STORED, OPERATOR_A_STORED, ADMIN_B_STORED]))
        deps = dataclasses.replace(api_deps, auth=auth, devices=registry)
        yield Admin(await aiohttp_client(create_app(deps)), registry)


async def claimed(registry: DeviceRegistry, device_id: str, workflow_id: str, run_id: str) -> None:
    await registry.claim(
        DeviceClaim(
            device_id=device_id,
            tenant="tenant-a",
            kind=RunKind.PROVISION,
            workflow_id=workflow_id,
            run_id=run_id,
            strategy="http-wifi",
        )
    )


async def post(admin: Admin, device_id: str, action: str, key: str, **body: Any) -> Any:
    return await admin.api.post(
        f"/api/v1/devices/{device_id}/{action}", json=body or None, headers=bearer(key)
    )


async def test_a_claim_whose_run_was_terminated_is_released_as_failed(
    admin: Admin, temporal_client: Client, device_id: str, site: str
) -> None:
    # A real run that no worker serves: it holds the device, then an operator terminates it.
    started = await admin.api.post(
        run_path(device_id), json=provision_body(site), headers=bearer(ADMIN_A)
    )
    assert started.status == 202, await started.text()
    run = await started.json()
    await claimed(admin.registry, device_id, run["workflow_id"], run["run_id"])

    while_running = await post(admin, device_id, "release", ADMIN_A)
    await temporal_client.get_workflow_handle(run["workflow_id"]).terminate("stuck")
    released = await post(admin, device_id, "release", ADMIN_A)
    again = await post(admin, device_id, "release", ADMIN_A)

    assert while_running.status == 409
    assert (await while_running.json())["code"] == "RUN_IN_PROGRESS"
    assert released.status == 200, await released.text()
    assert (await released.json())["state"] == "FAILED"
    assert (await admin.registry.get(device_id)).state is DeviceState.FAILED
    assert again.status == 409
    assert (await again.json())["code"] == "DEVICE_NOT_CLAIMED"
    # FAILED is claimable: a new provisioning run may have the device.
    await claimed(admin.registry, device_id, "provision-again", "run-2")
    assert (await admin.registry.get(device_id)).state is DeviceState.PROVISIONING


async def test_a_claim_whose_run_is_gone_from_temporal_is_released(admin: Admin) -> None:
    device_id = f"gone-{uuid.uuid4().hex[:8]}"
    await claimed(admin.registry, device_id, f"provision-{device_id}", str(uuid.uuid4()))

    released = await post(admin, device_id, "release", ADMIN_A)

    assert released.status == 200, await released.text()
    assert (await admin.registry.get(device_id)).state is DeviceState.FAILED


async def test_a_device_given_to_another_tenant_is_theirs_alone(admin: Admin) -> None:
    device_id = f"moved-{uuid.uuid4().hex[:8]}"
    await claimed(admin.registry, device_id, f"provision-{device_id}", "run-1")
    busy = await post(admin, device_id, "transfer", ADMIN_A, tenant="tenant-b")
    await admin.registry.release_claim(device_id, "tenant-a", "run-1")

    moved = await post(admin, device_id, "transfer", ADMIN_A, tenant="tenant-b")

    assert busy.status == 409
    assert (await busy.json())["code"] == "RUN_IN_PROGRESS"
    assert moved.status == 200, await moved.text()
    assert (await admin.registry.get(device_id)).tenant == "tenant-b"
    seen_by_a = await admin.api.get(f"/api/v1/devices/{device_id}", headers=bearer(ADMIN_A))
    seen_by_b = await admin.api.get(f"/api/v1/devices/{device_id}", headers=bearer(ADMIN_B))
    assert (seen_by_a.status, seen_by_b.status) == (404, 200)
    # Giving it back is the new owner's call, not the old one's.
    taken_back = await post(admin, device_id, "transfer", ADMIN_A, tenant="tenant-a")
    assert taken_back.status == 404


async def test_only_an_admin_key_of_the_devices_tenant_frees_or_moves_it(admin: Admin) -> None:
    device_id = f"kept-{uuid.uuid4().hex[:8]}"
    await claimed(admin.registry, device_id, f"provision-{device_id}", "run-1")

    by_operator = await post(admin, device_id, "release", OPERATOR_A)
    by_other_tenant = await post(admin, device_id, "release", ADMIN_B)
    bad_tenant = await post(admin, device_id, "transfer", ADMIN_A, tenant="Tenant B!")

    assert by_operator.status == 403
    assert by_other_tenant.status == 404
    assert bad_tenant.status == 422
    assert (await admin.registry.get(device_id)).state is DeviceState.PROVISIONING


async def test_two_releases_at_once_free_the_device_once(admin: Admin) -> None:
    device_id = f"twice-{uuid.uuid4().hex[:8]}"
    await claimed(admin.registry, device_id, f"provision-{device_id}", str(uuid.uuid4()))

    answers = await asyncio.gather(*(post(admin, device_id, "release", ADMIN_A) for _ in range(4)))

    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 409, 409, 409]
    for answer in answers:
        if answer.status == 409:
            assert (await answer.json())["code"] == "DEVICE_NOT_CLAIMED"
    assert (await admin.registry.get(device_id)).state is DeviceState.FAILED
