"""The rules of enrollments, without a database: globs, admission order, claim secrets."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from domain.device import DeviceDescriptor
from domain.enrollments import (
    Admission,
    GroupDefaults,
    GroupEnrollment,
    GroupEnrollmentCreate,
    IndividualEnrollment,
    Refusal,
    StoredIndividualEnrollment,
    admit,
    claim_secret_matches,
    hash_claim_secret,
)

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def device(device_id: str, vendor: str = "shelly", model: str = "") -> DeviceDescriptor:
    return DeviceDescriptor(device_id=device_id, type="wifi-relay", vendor=vendor, model=model)


def group(group_id: str, glob: str | None = None, **fields: object) -> GroupEnrollment:
    values: dict[str, object] = {
        "group_id": group_id,
        "vendor": None,
        "model": None,
        "device_id_glob": glob,
        "priority": 100,
        "defaults": GroupDefaults(),
        "enabled": True,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    return GroupEnrollment.model_validate(values)


def individual(device_id: str, **fields: object) -> StoredIndividualEnrollment:
    secret_hash = fields.pop("claim_secret_hash", None)
    assert secret_hash is None or isinstance(secret_hash, str)
    values: dict[str, object] = {
        "device_id": device_id,
        "serial": None,
        "mac": None,
        "vendor": None,
        "model": None,
        "claim_secret_set": secret_hash is not None,
        "enabled": True,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    view = IndividualEnrollment.model_validate(values)
    return StoredIndividualEnrollment(view=view, claim_secret_hash=secret_hash)


@pytest.mark.parametrize(
    "glob",
    ["(a+)+$", "plug.{1,9}", "a" * 129, "*" * 9 + "x", "plug/../*", "plug\n*", ""],
)
def test_a_glob_outside_the_fnmatch_subset_or_with_too_many_stars_is_refused(glob: str) -> None:
    with pytest.raises(ValidationError):
        GroupEnrollmentCreate(group_id="g", device_id_glob=glob)


def test_a_group_needs_a_criterion() -> None:
    with pytest.raises(ValidationError):
        GroupEnrollmentCreate(group_id="g")


def test_a_glob_matches_the_whole_id_case_sensitively_and_fast() -> None:
    g = group("g", "plug-l4-*")
    hostile = group("h", "*a*a*a*a*a*a*a*b")
    started = time.monotonic()

    assert g.matches(device("plug-l4-0001"))
    assert not g.matches(device("xplug-l4-0001"))
    assert not g.matches(device("PLUG-L4-0001"))
    assert not hostile.matches(device("a" * 128))
    assert time.monotonic() - started < 0.5


def test_the_individual_enrollment_decides_alone_and_groups_go_by_priority() -> None:
    groups = [group("wide", "*", priority=500), group("narrow", "plug-*", priority=10)]

    assert admit(device("plug-1"), individual("plug-1", enabled=False), groups, None) is (
        Refusal.DISABLED
    )
    assert admit(
        device("plug-1", vendor="acme"), individual("plug-1", vendor="shelly"), groups, None
    ) is (Refusal.MISMATCH)
    verdict = admit(device("plug-1"), None, groups, None)
    assert isinstance(verdict, Admission)
    assert verdict.reference == "group/narrow"
    assert admit(device("plug-1"), None, [group("off", "*", enabled=False)], None) is (
        Refusal.NOT_ENROLLED
    )


def test_a_claim_secret_is_salted_and_checked_in_full() -> None:
    first, second = hash_claim_secret("a-secret-label"), hash_claim_secret("a-secret-label")

    assert first != second
    assert "a-secret-label" not in first
    assert claim_secret_matches(first, "a-secret-label")
    assert not claim_secret_matches(first, "a-secret-labe")
    assert not claim_secret_matches(first, None)
    assert not claim_secret_matches("not-a-hash", "a-secret-label")
