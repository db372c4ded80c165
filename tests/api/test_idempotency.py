"""`Idempotency-Key` on the POSTs that start something: a start sent again with its key
starts nothing new, whatever the client's retries do."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, KeyStore, Scope, new_key
from client import DevprovClient
from domain.requests import ProvisionRequest
from registry import opened_registry
from tests.api.conftest import ApiClient, bearer, provision_body, run_path

STARTER_A, STARTER_A_STORED = new_key("tenant-a", [Scope.PROVISION, Scope.READ], key_id="starta")
STARTER_B, STARTER_B_STORED = new_key("tenant-b", [Scope.PROVISION, Scope.READ], key_id="startb")


@pytest.fixture
async def keyed(
    aiohttp_client: Callable[..., Awaitable[ApiClient]], api_deps: ApiDependencies, tmp_path: Path
) -> AsyncIterator[ApiClient]:
    """The API with its registry database (where the keys live) and two tenants."""
    async with opened_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}") as devices:
        auth = AuthConfig(KeyStore([STARTER_A_STORED, STARTER_B_STORED]))
        deps = dataclasses.replace(api_deps, auth=auth, devices=devices)
        yield await aiohttp_client(create_app(deps))


def with_key(key: str, api_key: str = STARTER_A) -> dict[str, str]:
    return {**bearer(api_key), "Idempotency-Key": key}


async def executions(client: Client, device_id: str) -> list[str]:
    """The run ids Temporal holds for the device's workflow (every run, open or not),
    once visibility (eventually consistent) shows one."""
    async with asyncio.timeout(10):
        while True:
            found = [
                execution.run_id
                async for execution in client.list_workflows(f'WorkflowId="provision-{device_id}"')
            ]
            if found:
                return found
            await asyncio.sleep(0.1)


async def never_started(client: Client, device_id: str) -> bool:
    try:
        await client.get_workflow_handle(f"provision-{device_id}").describe()
    except RPCError as error:
        return error.status is RPCStatusCode.NOT_FOUND
    return False


async def started(api: ApiClient, device_id: str, body: dict[str, Any], key: str) -> Any:
    return await api.post(run_path(device_id), json=body, headers=with_key(key))


async def test_a_start_sent_again_with_its_key_gets_the_first_answer_and_starts_nothing(
    keyed: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    key = str(uuid.uuid4())
    first = await started(keyed, device_id, provision_body(site), key)
    again = await started(keyed, device_id, provision_body(site), key)

    assert (first.status, again.status) == (202, 202), await again.text()
    assert (await again.json())["run_id"] == (await first.json())["run_id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await executions(temporal_client, device_id) == [(await first.json())["run_id"]]


async def test_a_key_sent_with_another_request_is_refused(
    keyed: ApiClient, device_id: str, site: str
) -> None:
    key = str(uuid.uuid4())
    assert (await started(keyed, device_id, provision_body(site), key)).status == 202

    other_body = await started(keyed, device_id, provision_body(site, model="SNSW-001P16EU"), key)
    other_device = await started(keyed, f"{device_id}-2", provision_body(site), key)

    for response in (other_body, other_device):
        assert response.status == 422
        assert response.content_type == "application/problem+json"
        assert (await response.json())["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_concurrent_starts_with_one_key_start_one_run(
    keyed: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    key = str(uuid.uuid4())

    responses = await asyncio.gather(
        *(started(keyed, device_id, provision_body(site), key) for _ in range(6))
    )

    statuses = sorted(r.status for r in responses)
    assert statuses.count(202) >= 1
    assert set(statuses) <= {202, 409}
    for response in responses:
        if response.status == 409:
            assert (await response.json())["code"] == "IDEMPOTENCY_KEY_IN_USE"
            assert response.headers["Retry-After"] == "1"
    run_ids = {(await r.json())["run_id"] for r in responses if r.status == 202}
    assert len(run_ids) == 1
    assert await executions(temporal_client, device_id) == list(run_ids)


async def test_a_refused_start_frees_its_key_for_the_corrected_request(
    keyed: ApiClient, device_id: str, site: str
) -> None:
    key = str(uuid.uuid4())
    refused = await started(keyed, device_id, {"device": {"site": site}}, key)
    corrected = await started(keyed, device_id, provision_body(site), key)

    assert refused.status == 422
    assert (await refused.json())["code"] == "INVALID_REQUEST"
    assert corrected.status == 202, await corrected.text()


async def test_another_tenant_never_gets_a_replay_of_a_key_it_did_not_send(
    keyed: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    key = str(uuid.uuid4())
    mine = await started(keyed, device_id, provision_body(site), key)

    theirs = await keyed.post(
        run_path(device_id), json=provision_body(site), headers=with_key(key, STARTER_B)
    )

    assert mine.status == 202
    assert theirs.status in {404, 409}, await theirs.text()
    assert "Idempotent-Replayed" not in theirs.headers
    assert await executions(temporal_client, device_id) == [(await mine.json())["run_id"]]


@pytest.mark.parametrize("bad", ["", "x" * 256, "caf\u00e9", "a b"])
async def test_an_invalid_key_is_refused_before_anything_starts(
    keyed: ApiClient, temporal_client: Client, device_id: str, site: str, bad: str
) -> None:
    response = await keyed.post(
        run_path(device_id),
        json=provision_body(site),
        headers={**bearer(STARTER_A), "Idempotency-Key": bad.encode().decode("latin-1")},
    )

    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await never_started(temporal_client, device_id)


async def test_the_sdk_sends_a_start_again_with_its_key_and_gets_the_same_run(
    keyed: ApiClient, temporal_client: Client, device_id: str, site: str
) -> None:
    request = ProvisionRequest.model_validate(provision_body(site, device_id=device_id))
    key = str(uuid.uuid4())
    async with DevprovClient(f"http://127.0.0.1:{keyed.server.port}", STARTER_A) as sdk:
        first = await sdk.start_provisioning(request, idempotency_key=key)
        again = await sdk.start_provisioning(request, idempotency_key=key)

    assert again.run_id == first.run_id
    assert await executions(temporal_client, device_id) == [first.run_id]
