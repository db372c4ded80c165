"""The device registry keeps one record per device and lets one run own it at a time,
on SQLite and on a real PostgreSQL alike (issue 18)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, make_url, text

from domain.registry import (
    DeviceBusy,
    DeviceClaim,
    DeviceFacts,
    DeviceFilter,
    DeviceNotFound,
    DeviceState,
    Outcome,
    RunKind,
    RunOutcome,
)
from registry import DeviceRegistry, open_registry
from registry.database import Database
from registry.store import MIGRATIONS

DEVICE = "shelly-plus1-kitchen"


def claim(
    run: str, kind: RunKind = RunKind.PROVISION, device: str = DEVICE, tenant: str = "acme"
) -> DeviceClaim:
    return DeviceClaim(
        device_id=device,
        tenant=tenant,
        kind=kind,
        workflow_id=f"{kind.value}-{device}",
        run_id=run,
        strategy="http-wifi",
        vendor="shelly",
        model="SNSW-001P16EU",
        site="lab",
    )


def done(run: str, device: str = DEVICE, **facts: str) -> RunOutcome:
    return RunOutcome(
        device_id=device, run_id=run, outcome=Outcome.DONE, facts=DeviceFacts(**facts)
    )


def undone(run: str) -> RunOutcome:
    return RunOutcome(device_id=DEVICE, run_id=run, outcome=Outcome.UNDONE)


async def test_a_provisioning_run_puts_a_new_device_in_service(registry: DeviceRegistry) -> None:
    claimed = await registry.claim(claim("run-1"))
    assert (claimed.state, claimed.tenant, claimed.run_id) == (
        DeviceState.PROVISIONING,
        "acme",
        "run-1",
    )

    await registry.record_outcome(done("run-1", network_ssid="home-net", address="10.0.0.7"))

    record = await registry.get(DEVICE, "acme")
    assert record.state is DeviceState.IN_SERVICE
    assert (record.network_ssid, record.address, record.run_id) == ("home-net", "10.0.0.7", "run-1")
    assert record.version == 2


async def test_claims_and_outcomes_are_idempotent_per_run(registry: DeviceRegistry) -> None:
    first = await registry.claim(claim("run-1"))
    assert await registry.claim(claim("run-1")) == first

    recorded = await registry.record_outcome(done("run-1", network_ssid="home-net"))
    assert await registry.record_outcome(done("run-1", network_ssid="other")) == recorded
    assert (await registry.get(DEVICE)).network_ssid == "home-net"


async def test_a_device_owned_by_a_run_cannot_be_claimed_by_another(
    registry: DeviceRegistry,
) -> None:
    await registry.claim(claim("run-1"))

    with pytest.raises(DeviceBusy, match="PROVISIONING by run provision-"):
        await registry.claim(claim("run-2"))
    with pytest.raises(DeviceBusy):
        await registry.claim(claim("run-3", RunKind.DECOMMISSION))


async def test_an_outcome_of_a_run_that_does_not_own_the_device_changes_nothing(
    registry: DeviceRegistry,
) -> None:
    await registry.claim(claim("run-1"))

    unchanged = await registry.record_outcome(done("run-stale"))

    assert unchanged.state is DeviceState.PROVISIONING
    assert unchanged.run_id == "run-1"


async def test_a_run_that_undid_everything_leaves_the_state_it_found(
    registry: DeviceRegistry,
) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(
        RunOutcome(device_id=DEVICE, run_id="run-1", outcome=Outcome.UNDONE)
    )
    assert (await registry.get(DEVICE)).state is DeviceState.UNPROVISIONED

    await registry.claim(claim("run-2"))
    await registry.record_outcome(done("run-2", network_ssid="home-net"))
    await registry.claim(claim("run-3", RunKind.DECOMMISSION))
    await registry.record_outcome(
        RunOutcome(device_id=DEVICE, run_id="run-3", outcome=Outcome.UNDONE)
    )

    record = await registry.get(DEVICE)
    assert (record.state, record.network_ssid) == (DeviceState.IN_SERVICE, "home-net")


async def test_leftovers_mark_the_device_failed_and_decommission_clears_it(
    registry: DeviceRegistry,
) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(
        RunOutcome(
            device_id=DEVICE,
            run_id="run-1",
            outcome=Outcome.LEFTOVERS,
            facts=DeviceFacts(cloud_thing=DEVICE),
        )
    )
    assert (await registry.get(DEVICE)).state is DeviceState.FAILED

    await registry.claim(claim("run-2", RunKind.DECOMMISSION))
    await registry.record_outcome(done("run-2"))

    record = await registry.get(DEVICE)
    assert (record.state, record.cloud_thing, record.network_ssid) == (
        DeviceState.DECOMMISSIONED,
        None,
        None,
    )
    again = await registry.claim(claim("run-3"))
    assert again.state is DeviceState.PROVISIONING


async def test_tenants_see_and_claim_only_their_own_devices(registry: DeviceRegistry) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(done("run-1"))

    with pytest.raises(DeviceNotFound):
        await registry.get(DEVICE, "globex")
    with pytest.raises(DeviceNotFound):
        await registry.claim(claim("run-2", RunKind.DECOMMISSION, tenant="globex"))
    with pytest.raises(DeviceNotFound):
        await registry.claim(claim("run-3", tenant="globex"))
    page = await registry.list(DeviceFilter(tenant="globex"))
    assert page.devices == []


async def test_a_decommission_of_an_unknown_device_is_not_found(registry: DeviceRegistry) -> None:
    with pytest.raises(DeviceNotFound):
        await registry.claim(claim("run-1", RunKind.DECOMMISSION, device="never-seen"))


async def test_listing_filters_and_pages_in_device_id_order(registry: DeviceRegistry) -> None:
    for n in range(7):
        device = f"dev-{n}"
        await registry.claim(claim(f"run-{n}", device=device))
        if n % 2 == 0:
            await registry.record_outcome(done(f"run-{n}", device=device, network_ssid="net-a"))

    in_service = DeviceFilter(tenant="acme", state=DeviceState.IN_SERVICE)
    first = await registry.list(in_service, limit=3)
    assert [d.device_id for d in first.devices] == ["dev-0", "dev-2", "dev-4"]
    assert first.next_cursor is not None
    rest = await registry.list(in_service, limit=3, cursor=first.next_cursor)
    assert [d.device_id for d in rest.devices] == ["dev-6"]
    assert rest.next_cursor is None
    by_network = await registry.list(DeviceFilter(network_ssid="net-a"), limit=10)
    assert len(by_network.devices) == 4
    with pytest.raises(ValueError, match="not a cursor"):
        await registry.list(in_service, cursor="%%%")


async def test_concurrent_provision_and_decommission_claims_have_exactly_one_winner(
    registry: DeviceRegistry,
) -> None:
    """The race of the issue: many rounds, each with claims of both kinds at once."""
    await registry.claim(claim("seed"))
    await registry.record_outcome(done("seed"))
    for round_ in range(15):
        contenders = [
            claim(f"r{round_}-{kind.value}-{n}", kind)
            for n in range(4)
            for kind in (RunKind.PROVISION, RunKind.DECOMMISSION)
        ]
        answers = await asyncio.gather(
            *(registry.claim(c) for c in contenders), return_exceptions=True
        )

        winners = [
            c for c, a in zip(contenders, answers, strict=True) if not isinstance(a, Exception)
        ]
        assert all(isinstance(a, DeviceBusy) for a in answers if isinstance(a, Exception)), answers
        # In service, only a decommission may win; exactly one of them does.
        assert [w.kind for w in winners] == [RunKind.DECOMMISSION], answers
        record = await registry.get(DEVICE)
        assert (record.state, record.run_id) == (DeviceState.DECOMMISSIONING, winners[0].run_id)
        await registry.record_outcome(undone(winners[0].run_id))


async def test_the_registry_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'registry.db'}"
    first = await open_registry(url)
    await first.claim(claim("run-1"))
    await first.record_outcome(done("run-1", network_ssid="home-net"))
    await first.close()

    again = await open_registry(url)
    try:
        record = await again.get(DEVICE)
    finally:
        await again.close()
    assert (record.state, record.network_ssid) == (DeviceState.IN_SERVICE, "home-net")
    assert stat.S_IMODE((tmp_path / "data" / "registry.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


async def test_registries_opened_side_by_side_each_get_their_schema(tmp_path: Path) -> None:
    """Alembic's context is process-global: migrations of several databases opened at
    once must not run one's statements on another's connection (explorer finding)."""
    urls = [f"sqlite+aiosqlite:///{tmp_path / f'r{n}' / 'registry.db'}" for n in range(8)]

    opened = await asyncio.gather(*(open_registry(url, pooled=False) for url in urls))

    for n, registry in enumerate(opened):
        await registry.claim(claim(f"run-{n}"))
        assert (await registry.get(DEVICE, "acme")).run_id == f"run-{n}"


async def test_a_decommission_claim_gets_the_facts_to_undo_and_how_to_reach_the_device(
    registry: DeviceRegistry,
) -> None:
    provision = claim("run-1").model_copy(
        update={"device_type": "wifi-relay", "transport_hints": {"address": "http://10.0.0.7"}}
    )
    await registry.claim(provision)
    await registry.record_outcome(
        done("run-1", network_ssid="home-net", cloud_thing=DEVICE, cloud_certificate_id="c1")
    )

    claimed = await registry.claim(claim("run-2", RunKind.DECOMMISSION))
    await registry.record_outcome(done("run-2"))
    after = await registry.get(DEVICE)

    assert claimed.state is DeviceState.DECOMMISSIONING
    assert (claimed.cloud_thing, claimed.cloud_certificate_id) == (DEVICE, "c1")
    assert (claimed.device_type, claimed.transport_hints) == (
        "wifi-relay",
        {"address": "http://10.0.0.7"},
    )
    assert after.state is DeviceState.DECOMMISSIONED
    assert (after.network_ssid, after.cloud_thing, after.cloud_certificate_id) == (None,) * 3
    assert after.transport_hints == {"address": "http://10.0.0.7"}


async def test_records_of_the_first_schema_are_kept_by_the_upgrade(empty_database: str) -> None:
    """Migration 0002 adds the device's type and transport hints to existing records."""
    database = make_url(empty_database).database
    if make_url(empty_database).get_backend_name() == "sqlite" and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    prepared = Database(empty_database, pooled=False)

    def first_schema_with_a_record(connection: Connection) -> None:
        _upgrade_to(connection, "0001")
        connection.execute(
            text(
                "INSERT INTO devices (device_id, tenant, state, strategy, vendor, model, "
                "site, updated_at, version) VALUES (:id, 'acme', 'IN_SERVICE', "
                "'http-wifi', 'shelly', '', 'lab', CURRENT_TIMESTAMP, 2)"
            ),
            {"id": DEVICE},
        )

    try:
        await prepared.transaction(first_schema_with_a_record)
    finally:
        await prepared.close()

    upgraded = await open_registry(empty_database)
    try:
        record = await upgraded.get(DEVICE)
        claimed = await upgraded.claim(claim("run-9", RunKind.DECOMMISSION))
    finally:
        await upgraded.close()

    assert (record.state, record.device_type, record.transport_hints) == (
        DeviceState.IN_SERVICE,
        "",
        {},
    )
    assert claimed.state is DeviceState.DECOMMISSIONING


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def reprovision_claim(run: str) -> DeviceClaim:
    return claim(run).model_copy(update={"reprovision": True})


async def test_only_a_reprovisioning_claim_takes_a_device_in_service(
    registry: DeviceRegistry,
) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(done("run-1", network_ssid="home-net"))

    with pytest.raises(DeviceBusy):
        await registry.claim(claim("run-2"))
    claimed = await registry.claim(reprovision_claim("run-3"))

    assert (claimed.state, claimed.run_id) == (DeviceState.PROVISIONING, "run-3")


async def test_a_reset_that_succeeded_keeps_only_the_new_facts(registry: DeviceRegistry) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(done("run-1", network_ssid="home-net", cloud_thing="thing-1"))
    await registry.claim(reprovision_claim("run-2"))

    reset_done = done("run-2", network_ssid="new-net").model_copy(update={"reset": True})
    await registry.record_outcome(reset_done)

    record = await registry.get(DEVICE, "acme")
    assert (record.state, record.network_ssid, record.cloud_thing) == (
        DeviceState.IN_SERVICE,
        "new-net",
        None,
    )


async def test_a_reset_whose_provisioning_was_undone_leaves_the_device_unprovisioned(
    registry: DeviceRegistry,
) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(done("run-1", network_ssid="home-net", address="10.0.0.7"))
    await registry.claim(reprovision_claim("run-2"))

    await registry.record_outcome(undone("run-2").model_copy(update={"reset": True}))

    record = await registry.get(DEVICE, "acme")
    assert (record.state, record.network_ssid, record.address) == (
        DeviceState.UNPROVISIONED,
        None,
        None,
    )


async def test_an_undone_migration_leaves_the_record_as_it_was(registry: DeviceRegistry) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(done("run-1", network_ssid="home-net", address="10.0.0.7"))
    await registry.claim(reprovision_claim("run-2"))

    await registry.record_outcome(undone("run-2"))

    record = await registry.get(DEVICE, "acme")
    assert (record.state, record.network_ssid, record.address) == (
        DeviceState.IN_SERVICE,
        "home-net",
        "10.0.0.7",
    )


async def test_a_migration_to_another_tenant_moves_the_record(registry: DeviceRegistry) -> None:
    await registry.claim(claim("run-1"))
    await registry.record_outcome(done("run-1", network_ssid="home-net"))
    await registry.claim(reprovision_claim("run-2"))

    await registry.record_outcome(done("run-2").model_copy(update={"tenant": "globex"}))

    with pytest.raises(DeviceNotFound):
        await registry.get(DEVICE, "acme")
    record = await registry.get(DEVICE, "globex")
    assert (record.state, record.network_ssid) == (DeviceState.IN_SERVICE, "home-net")
