"""Enrollments: a tenant's allow-list of devices, its settings, and the admission check
that runs and fleets pass before anything starts.

With `enrollment_required` off (the default) nothing is checked and nothing applied.
With it on, a device no enabled enrollment of the tenant admits is refused
(DEVICE_NOT_ENROLLED, 403) before a workflow exists; the detail names the device and
why, from the tenant's own enrollments only, so it says nothing of other tenants.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.device import DeviceDescriptor
from domain.enrollments import (
    Admission,
    EnrollmentExists,
    EnrollmentImport,
    EnrollmentNotFound,
    GroupEnrollment,
    GroupEnrollmentCreate,
    GroupEnrollmentList,
    GroupEnrollmentPatch,
    GroupWithoutCriterion,
    IndividualEnrollment,
    IndividualEnrollmentCreate,
    IndividualEnrollmentList,
    IndividualEnrollmentPatch,
    Refusal,
    TenantSettings,
    admit,
    hash_claim_secret,
)
from domain.errors import ErrorCode
from services.errors import (
    EnrollmentConflict,
    EnrollmentUnknown,
    NotAdmitted,
    RequestNotServable,
)

if TYPE_CHECKING:  # the store (SQLAlchemy) is loaded by whoever opens a registry
    from registry.enrollments import EnrollmentStore

MAX_REFUSED_LISTED = 100
"""A fleet's refusal lists at most this many devices."""


def _unknown(kind: str, enrollment_id: str) -> EnrollmentUnknown:
    return EnrollmentUnknown(ErrorCode.NOT_FOUND, f"no {kind} enrollment '{enrollment_id}'")


def _exists(kind: str, enrollment_id: str) -> EnrollmentConflict:
    return EnrollmentConflict(
        ErrorCode.ENROLLMENT_EXISTS,
        f"the {kind} enrollment '{enrollment_id}' exists already: change it with PATCH",
    )


def _bad_cursor() -> RequestNotServable:
    return RequestNotServable(
        ErrorCode.INVALID_REQUEST, "`cursor` is not of the form this API gives"
    )


def _secret_of(create: IndividualEnrollmentCreate) -> str | None:
    return create.claim_secret.get_secret_value() if create.claim_secret else None


async def _hashed(secret: str | None) -> str | None:
    # scrypt takes tens of milliseconds by design: off the event loop.
    return None if secret is None else await asyncio.to_thread(hash_claim_secret, secret)


class Enrollments:
    """A tenant's enrollments and settings, and admission of its devices.

    Args:
        store: The registry's enrollments; None (an API without a registry) requires
            no enrollment and keeps none.
    """

    def __init__(self, store: EnrollmentStore | None) -> None:
        self._store = store

    def _stored(self) -> EnrollmentStore:
        if self._store is None:
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST, "this API has no registry database to keep enrollments"
            )
        return self._store

    def _existing(self, kind: str, enrollment_id: str) -> EnrollmentStore:
        """The store, to read or change an enrollment (none exists without one)."""
        if self._store is None:
            raise _unknown(kind, enrollment_id)
        return self._store

    # ------------------------------------------------------------ admission

    async def admission(
        self,
        device: DeviceDescriptor,
        tenant: str,
        claim_secret: str | None,
        *,
        required: bool,
        secret_proven: bool = False,
    ) -> Admission | None:
        """The enrollment that admits `device` when the tenant requires one (`required`,
        its setting as the start read it), else None (`secret_proven`: a claim secret
        was checked for the run a retry repeats).

        Raises:
            NotAdmitted: DEVICE_NOT_ENROLLED, with why.
        """
        if self._store is None or not required:
            return None
        individuals = await self._store.individuals(tenant, [device.device_id])
        groups = await self._store.enabled_groups(tenant)
        individual = individuals.get(device.device_id)
        verdict = await asyncio.to_thread(
            lambda: admit(device, individual, groups, claim_secret, secret_proven=secret_proven)
        )
        if isinstance(verdict, Refusal):
            raise NotAdmitted(
                ErrorCode.DEVICE_NOT_ENROLLED,
                f"device '{device.device_id}' may not be provisioned: {verdict.value}",
            )
        return verdict

    async def check_fleet(
        self, devices: Sequence[DeviceDescriptor], tenant: str
    ) -> dict[str, Admission]:
        """The admission of every device of a fleet by id (none when the tenant requires
        no enrollment); refuse the fleet when one is not admitted (a fleet presents no
        claim secret: a device whose enrollment has one is refused).

        Raises:
            NotAdmitted: DEVICE_NOT_ENROLLED, `refused` listing the devices and why.
        """
        if self._store is None or not (await self._store.settings(tenant)).enrollment_required:
            return {}
        individuals = await self._store.individuals(tenant, (d.device_id for d in devices))
        groups = await self._store.enabled_groups(tenant)
        admitted: dict[str, Admission] = {}
        refused: list[tuple[str, Refusal]] = []
        for device in devices:
            verdict = admit(device, individuals.get(device.device_id), groups, None)
            if isinstance(verdict, Refusal):
                refused.append((device.device_id, verdict))
            else:
                admitted[device.device_id] = verdict
        if refused:
            raise NotAdmitted(
                ErrorCode.DEVICE_NOT_ENROLLED,
                f"{len(refused)} of {len(devices)} devices may not be provisioned; "
                "nothing was started",
                refused=[
                    {"device_id": device_id, "reason": reason.value}
                    for device_id, reason in refused[:MAX_REFUSED_LISTED]
                ],
            )
        return admitted

    # ------------------------------------------------------------ settings

    async def settings(self, tenant: str) -> TenantSettings:
        """The tenant's settings."""
        if self._store is None:
            return TenantSettings(tenant=tenant, enrollment_required=False, updated_at=None)
        return await self._store.settings(tenant)

    async def put_settings(self, tenant: str, *, enrollment_required: bool) -> TenantSettings:
        """Set the tenant's settings."""
        return await self._stored().put_settings(tenant, enrollment_required=enrollment_required)

    # ------------------------------------------------------------ individual

    async def add_individual(
        self, tenant: str, create: IndividualEnrollmentCreate
    ) -> IndividualEnrollment:
        """Enroll a device (ENROLLMENT_EXISTS when the tenant has already)."""

        hashed = await _hashed(_secret_of(create))
        try:
            return await self._stored().add_individual(tenant, create, hashed)
        except EnrollmentExists:
            raise _exists("individual", create.device_id) from None

    async def import_individuals(
        self, tenant: str, enrollments: Sequence[IndividualEnrollmentCreate]
    ) -> EnrollmentImport:
        """Create or replace every enrollment of `enrollments`, all or none."""
        hashed = [(create, await _hashed(_secret_of(create))) for create in enrollments]
        return EnrollmentImport(imported=await self._stored().replace_individuals(tenant, hashed))

    async def individual(self, tenant: str, device_id: str) -> IndividualEnrollment:
        """The tenant's enrollment of `device_id` (NOT_FOUND, also for another tenant's)."""

        try:
            return (
                await self._existing("individual", device_id).individual(tenant, device_id)
            ).view
        except EnrollmentNotFound:
            raise _unknown("individual", device_id) from None

    async def list_individuals(
        self, tenant: str, *, limit: int = 100, cursor: str | None = None
    ) -> IndividualEnrollmentList:
        """One page of the tenant's individual enrollments, by device id."""
        if self._store is None:
            return IndividualEnrollmentList(items=[], next_cursor=None)
        try:
            items, next_cursor = await self._store.list_individuals(
                tenant, limit=limit, cursor=cursor
            )
        except ValueError:
            raise _bad_cursor() from None
        return IndividualEnrollmentList(items=items, next_cursor=next_cursor)

    async def update_individual(
        self, tenant: str, device_id: str, patch: IndividualEnrollmentPatch
    ) -> IndividualEnrollment:
        """Change the enrollment of `device_id` as `patch` says."""

        secret = patch.claim_secret.get_secret_value() if patch.claim_secret else None
        try:
            return await self._existing("individual", device_id).update_individual(
                tenant, device_id, patch, await _hashed(secret)
            )
        except EnrollmentNotFound:
            raise _unknown("individual", device_id) from None

    async def delete_individual(self, tenant: str, device_id: str) -> None:
        """Forget the enrollment of `device_id`."""

        try:
            await self._existing("individual", device_id).delete_individual(tenant, device_id)
        except EnrollmentNotFound:
            raise _unknown("individual", device_id) from None

    # ------------------------------------------------------------ group

    async def add_group(self, tenant: str, create: GroupEnrollmentCreate) -> GroupEnrollment:
        """Add a group enrollment (ENROLLMENT_EXISTS when the id is taken)."""

        try:
            return await self._stored().add_group(tenant, create)
        except EnrollmentExists:
            raise _exists("group", create.group_id) from None

    async def group(self, tenant: str, group_id: str) -> GroupEnrollment:
        """The tenant's group `group_id` (NOT_FOUND, also for another tenant's)."""

        try:
            return await self._existing("group", group_id).group(tenant, group_id)
        except EnrollmentNotFound:
            raise _unknown("group", group_id) from None

    async def list_groups(
        self, tenant: str, *, limit: int = 100, cursor: str | None = None
    ) -> GroupEnrollmentList:
        """One page of the tenant's group enrollments, by id."""
        if self._store is None:
            return GroupEnrollmentList(items=[], next_cursor=None)
        try:
            items, next_cursor = await self._store.list_groups(tenant, limit=limit, cursor=cursor)
        except ValueError:
            raise _bad_cursor() from None
        return GroupEnrollmentList(items=items, next_cursor=next_cursor)

    async def update_group(
        self, tenant: str, group_id: str, patch: GroupEnrollmentPatch
    ) -> GroupEnrollment:
        """Change the group as `patch` says; it keeps at least one criterion."""

        try:
            return await self._existing("group", group_id).update_group(tenant, group_id, patch)
        except EnrollmentNotFound:
            raise _unknown("group", group_id) from None
        except GroupWithoutCriterion:
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST,
                "a group keeps at least one of vendor, model, device_id_glob",
            ) from None

    async def delete_group(self, tenant: str, group_id: str) -> None:
        """Remove the group."""

        try:
            await self._existing("group", group_id).delete_group(tenant, group_id)
        except EnrollmentNotFound:
            raise _unknown("group", group_id) from None
