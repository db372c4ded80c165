"""The registry's answers for a provisioning start, read in one unit of work."""

from __future__ import annotations

import pytest

from domain.registry import DeviceState
from domain.webhooks import EventType
from registry import DeviceRegistry
from registry.database import Database
from registry.enrollments import EnrollmentStore
from registry.hooks import HookStore
from registry.start_facts import read_start_facts
from registry.webhooks import WebhookStore
from tests.registry.test_registry import DEVICE, claim


async def test_a_start_reads_its_tenants_settings_and_the_devices_record_in_one_unit_of_work(
    registry: DeviceRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = registry.database
    await EnrollmentStore(database).put_settings("acme", enrollment_required=True)
    await HookStore(database).put("acme", "https://hooks.example/allow", "sealed")
    webhooks = WebhookStore(database)
    await webhooks.add(
        "acme", "wh_" + "a" * 24, "https://h.example/a", [EventType.RUN_STATE_CHANGED], "", "s"
    )
    await webhooks.add(
        "globex", "wh_" + "b" * 24, "https://h.example/b", [EventType.RUN_SUCCEEDED], "", "s"
    )
    await registry.claim(claim("run-1"))

    units: list[str] = []
    for name in ("read", "transaction"):
        unit = getattr(Database, name)

        async def counted(
            self: Database, work: object, _unit: object = unit, _name: str = name
        ) -> object:
            units.append(_name)
            return await _unit(self, work)  # type: ignore[operator]

        monkeypatch.setattr(Database, name, counted)

    acme = await read_start_facts(database, "acme", DEVICE)
    globex = await read_start_facts(database, "globex", "never-seen")

    assert units == ["read", "read"]
    assert (acme.enrollment_required, acme.hooked, acme.sends_run_states) == (True, True, True)
    assert acme.record is not None
    assert (acme.record.tenant, acme.record.state) == ("acme", DeviceState.PROVISIONING)
    # A subscription to other events does not make a tenant's runs send their states.
    assert (globex.enrollment_required, globex.hooked, globex.sends_run_states) == (False,) * 3
    assert globex.record is None


async def test_a_disabled_subscription_sends_no_run_states(registry: DeviceRegistry) -> None:
    webhooks = WebhookStore(registry.database)
    await webhooks.add(
        "acme", "wh_" + "c" * 24, "https://h.example/a", [EventType.RUN_STATE_CHANGED], "", "s"
    )
    await webhooks.update("acme", "wh_" + "c" * 24, enabled=False)

    facts = await read_start_facts(registry.database, "acme", DEVICE)

    assert facts.sends_run_states is False
