"""Enrollments and tenant settings in the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from domain.device import DeviceDescriptor
from domain.enrollments import (
    Admission,
    EnrollmentExists,
    EnrollmentNotFound,
    GroupEnrollmentCreate,
    GroupEnrollmentPatch,
    GroupWithoutCriterion,
    IndividualEnrollmentCreate,
    IndividualEnrollmentPatch,
    Refusal,
    admit,
    hash_claim_secret,
)
from registry import DeviceRegistry
from registry.enrollments import EnrollmentStore

SECRET = "claim-me-if-you-can-42"


@pytest.fixture
def store(registry: DeviceRegistry) -> EnrollmentStore:
    return EnrollmentStore(registry.database)


def device(device_id: str, vendor: str = "shelly", model: str = "plus1") -> DeviceDescriptor:
    return DeviceDescriptor(
        device_id=device_id, type="wifi-relay", vendor=vendor, model=model, capabilities={"wifi"}
    )


async def test_an_enrollment_is_kept_per_tenant_and_another_tenant_sees_none(
    store: EnrollmentStore,
) -> None:
    await store.add_individual(
        "tenant-a", IndividualEnrollmentCreate(device_id="plug-1", serial="SN-1"), None
    )

    assert (await store.individual("tenant-a", "plug-1")).view.serial == "SN-1"
    with pytest.raises(EnrollmentNotFound):
        await store.individual("tenant-b", "plug-1")
    with pytest.raises(EnrollmentNotFound):
        await store.delete_individual("tenant-b", "plug-1")
    assert await store.individuals("tenant-b", ["plug-1"]) == {}


async def test_the_same_device_enrolled_twice_by_a_tenant_is_refused(
    store: EnrollmentStore,
) -> None:
    await store.add_individual("tenant-a", IndividualEnrollmentCreate(device_id="plug-1"), None)
    with pytest.raises(EnrollmentExists):
        await store.add_individual("tenant-a", IndividualEnrollmentCreate(device_id="plug-1"), None)
    await store.add_individual("tenant-b", IndividualEnrollmentCreate(device_id="plug-1"), None)


async def test_only_the_hash_of_a_claim_secret_is_stored_and_it_admits_the_secret(
    store: EnrollmentStore,
) -> None:
    hashed = hash_claim_secret(SECRET)
    await store.add_individual("tenant-a", IndividualEnrollmentCreate(device_id="plug-1"), hashed)

    stored = await store.individual("tenant-a", "plug-1")
    assert stored.view.claim_secret_set
    assert stored.claim_secret_hash is not None
    assert SECRET not in stored.claim_secret_hash
    assert SECRET not in stored.view.model_dump_json()
    assert isinstance(admit(device("plug-1"), stored, [], SECRET), Admission)
    assert admit(device("plug-1"), stored, [], "wrong-secret") is Refusal.CLAIM_SECRET
    assert admit(device("plug-1"), stored, [], None) is Refusal.CLAIM_SECRET


async def test_a_patch_changes_only_what_it_sets(store: EnrollmentStore) -> None:
    await store.add_individual(
        "tenant-a", IndividualEnrollmentCreate(device_id="plug-1", serial="SN-1"), None
    )
    updated = await store.update_individual(
        "tenant-a", "plug-1", IndividualEnrollmentPatch(enabled=False), None
    )
    assert (updated.serial, updated.enabled) == ("SN-1", False)


async def test_pages_follow_each_other_by_id(store: EnrollmentStore) -> None:
    for n in range(5):
        await store.add_individual(
            "tenant-a", IndividualEnrollmentCreate(device_id=f"plug-{n}"), None
        )
    first, cursor = await store.list_individuals("tenant-a", limit=3)
    second, last = await store.list_individuals("tenant-a", limit=3, cursor=cursor)

    assert [e.device_id for e in first + second] == [f"plug-{n}" for n in range(5)]
    assert last is None


async def test_a_csv_import_replaces_what_it_names_in_one_go(store: EnrollmentStore) -> None:
    await store.add_individual(
        "tenant-a", IndividualEnrollmentCreate(device_id="plug-1", serial="OLD"), None
    )
    count = await store.replace_individuals(
        "tenant-a",
        [
            (IndividualEnrollmentCreate(device_id="plug-1", serial="NEW"), None),
            (IndividualEnrollmentCreate(device_id="plug-2"), None),
        ],
    )
    assert count == 2
    found = await store.individuals("tenant-a", ["plug-1", "plug-2", "plug-3"])
    assert sorted(found) == ["plug-1", "plug-2"]
    assert found["plug-1"].view.serial == "NEW"


async def test_the_first_enabled_matching_group_admits_with_its_defaults(
    store: EnrollmentStore,
) -> None:
    await store.add_group(
        "tenant-a",
        GroupEnrollmentCreate.model_validate(
            {"group_id": "line-4", "device_id_glob": "plug-l4-*", "defaults": {"site": "hall"}}
        ),
    )
    await store.add_group(
        "tenant-a", GroupEnrollmentCreate(group_id="any-shelly", vendor="shelly", priority=500)
    )
    groups = await store.enabled_groups("tenant-a")

    verdict = admit(device("plug-l4-0007"), None, groups, None)
    assert isinstance(verdict, Admission)
    assert (verdict.reference, verdict.defaults.site) == ("group/line-4", "hall")
    other = admit(device("plug-x", vendor="shelly"), None, groups, None)
    assert isinstance(other, Admission)
    assert other.reference == "group/any-shelly"
    assert admit(device("plug-x", vendor="acme"), None, groups, None) is Refusal.NOT_ENROLLED
    assert await store.enabled_groups("tenant-b") == []


async def test_a_disabled_group_admits_nothing_and_a_group_keeps_one_criterion(
    store: EnrollmentStore,
) -> None:
    await store.add_group("tenant-a", GroupEnrollmentCreate(group_id="g", vendor="shelly"))
    await store.update_group("tenant-a", "g", GroupEnrollmentPatch(enabled=False))
    assert await store.enabled_groups("tenant-a") == []
    with pytest.raises(GroupWithoutCriterion):
        await store.update_group("tenant-a", "g", GroupEnrollmentPatch(vendor=None))


async def test_tenant_settings_default_to_off_and_are_per_tenant(store: EnrollmentStore) -> None:
    assert not (await store.settings("tenant-a")).enrollment_required
    await store.put_settings("tenant-a", enrollment_required=True)
    await store.put_settings("tenant-a", enrollment_required=True)

    assert (await store.settings("tenant-a")).enrollment_required
    assert not (await store.settings("tenant-b")).enrollment_required
    await store.put_settings("tenant-a", enrollment_required=False)
    assert not (await store.settings("tenant-a")).enrollment_required
