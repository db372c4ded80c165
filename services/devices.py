"""The device inventory: tenants' devices as the registry holds them, whether a device
may be given a new run, and two admin actions.

The registry is written by runs (their claim and outcome activities); this use case
reads it, and lets an admin free a device whose run ended without recording its outcome
(terminated) and give a device to another tenant. Another tenant's device answers
exactly like an unknown one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.api_models import DecommissionLinks, DeviceList, DeviceView, RunLinks, device_link
from domain.errors import ErrorCode
from domain.registry import (
    CLAIMABLE_FROM,
    CLAIMED_AS,
    DeviceBusy,
    DeviceFilter,
    DeviceNotFound,
    DeviceRecord,
    DeviceState,
    RunKind,
)
from domain.requests import ReprovisionPolicy
from services.errors import DeviceUnknown, RequestNotServable, RunConflict, temporal_errors

if TYPE_CHECKING:  # the store (SQLAlchemy) is loaded by whoever opens a registry
    from registry import DeviceRegistry

MAX_PAGE = 1000


def _unknown(device_id: str) -> DeviceUnknown:
    return DeviceUnknown(ErrorCode.NOT_FOUND, f"no device '{device_id}' in the registry")


def check_provisionable(
    record: DeviceRecord | None,
    device_id: str,
    tenant: str,
    reprovision: ReprovisionPolicy = ReprovisionPolicy.NEVER,
) -> bool:
    """Refuse up front a provisioning run the registry would refuse its claim, from the
    device's `record` as the start read it (None: never seen; the first run claims it
    for its tenant); whether the device is in service (then `reprovision` says what
    the run does).

    Only what the registry showed: a race is settled by the run's claim (the losing run
    ends DEVICE_BUSY).

    Raises:
        DeviceUnknown: NOT_FOUND for another tenant's device (as for an unknown one).
        RunConflict: DEVICE_IN_SERVICE (a link to its record) for a device in service
            with the policy `never`; RUN_IN_PROGRESS for a device another run has
            claimed.
    """
    if record is None:
        return False
    if record.tenant != tenant:
        raise DeviceUnknown(
            ErrorCode.NOT_FOUND, f"no device '{device_id}' can be provisioned with this key"
        )
    if record.state in CLAIMABLE_FROM[RunKind.PROVISION]:
        return False
    if record.state is DeviceState.IN_SERVICE:
        if reprovision is not ReprovisionPolicy.NEVER:
            return True
        raise RunConflict(
            ErrorCode.DEVICE_IN_SERVICE,
            f"device '{device_id}' is in service; send `reprovision: reset` or "
            "`reprovision: migrate` to provision it again",
            links={"device": device_link(device_id)},
        )
    raise _claimed(record)


class DeviceInventory:
    """Read the registry on behalf of a tenant.

    Args:
        registry: The registry the central workers' runs write; None knows no device
            (an API built without one, in tests that do not exercise it).
        temporal: Asked whether a claiming run has ended (the admin's release).
    """

    def __init__(self, registry: DeviceRegistry | None, temporal: Client | None = None) -> None:
        self._registry = registry
        self._temporal = temporal

    async def _record(self, device_id: str, tenant: str) -> DeviceRecord | None:
        if self._registry is None:
            return None
        try:
            return await self._registry.get(device_id, tenant)
        except DeviceNotFound:
            return None

    async def show(self, device_id: str, tenant: str) -> DeviceView:
        """The device's record.

        Raises:
            DeviceUnknown: no such device for `tenant` (another tenant's too).
        """
        record = await self._record(device_id, tenant)
        if record is None:
            raise _unknown(device_id)
        return DeviceView.of(record)

    async def list(
        self, where: DeviceFilter, *, limit: int = 100, cursor: str | None = None
    ) -> DeviceList:
        """One page of `where`'s devices, sorted by id.

        Raises:
            RequestNotServable: INVALID_REQUEST for a cursor not of the registry's form.
        """
        if self._registry is None:
            return DeviceList(items=[], next_cursor=None)
        try:
            page = await self._registry.list(where, limit=min(limit, MAX_PAGE), cursor=cursor)
        except ValueError:
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST, "`cursor` is not of the form this API gives"
            ) from None
        return DeviceList(
            items=[DeviceView.of(record) for record in page.devices],
            next_cursor=page.next_cursor,
        )

    async def check_decommissionable(self, device_id: str, tenant: str) -> DeviceRecord:
        """The record of a device a decommissioning run may claim now, or why not.

        Only what the registry shows now: a race with a provisioning run is settled by
        the runs' claims (the losing run ends DEVICE_BUSY).

        Raises:
            DeviceUnknown: NOT_FOUND for a device the registry does not hold for `tenant`
                (another tenant's too).
            RunConflict: RUN_IN_PROGRESS for a device a run has claimed;
                DEVICE_NOT_IN_SERVICE for one that is not in service (never provisioned,
                or decommissioned already).
        """
        record = await self._record(device_id, tenant)
        if record is None:
            raise _unknown(device_id)
        if record.state in CLAIMABLE_FROM[RunKind.DECOMMISSION]:
            return record
        if record.state in CLAIMED_AS.values():
            raise _claimed(record)
        raise RunConflict(
            ErrorCode.DEVICE_NOT_IN_SERVICE,
            f"device '{device_id}' is {record.state.value}: there is nothing to take out "
            "of service",
            links={"device": device_link(device_id)},
        )

    async def release(self, device_id: str, tenant: str) -> DeviceView:
        """Free a device whose owner run has ended without recording its outcome (a
        terminated run): the device becomes FAILED, for a new run to claim.

        Raises:
            DeviceUnknown: no such device for `tenant`.
            RunConflict: RUN_IN_PROGRESS while its run still runs; DEVICE_NOT_CLAIMED
                when no run holds it.
            TemporalUnavailable: Temporal did not answer.
        """
        record = await self._record(device_id, tenant)
        if record is None or self._registry is None:
            raise _unknown(device_id)
        if record.state not in CLAIMED_AS.values() or not record.run_id:
            raise _not_claimed(record)
        if await self._still_running(record):
            raise _claimed(record)
        try:
            released = await self._registry.release_claim(device_id, tenant, record.run_id)
        except DeviceBusy as busy:  # released, or its outcome recorded, meanwhile
            changed = busy.record
            raise (
                _claimed(changed) if changed.state in CLAIMED_AS.values() else _not_claimed(changed)
            ) from None
        return DeviceView.of(released)

    async def transfer(self, device_id: str, tenant: str, to_tenant: str) -> DeviceView:
        """Give the device to `to_tenant` (who alone sees and runs it from then on).

        Raises:
            DeviceUnknown: no such device for `tenant`.
            RunConflict: RUN_IN_PROGRESS while a run holds it.
        """
        if self._registry is None:
            raise _unknown(device_id)
        try:
            moved = await self._registry.transfer(device_id, tenant, to_tenant)
        except DeviceNotFound:
            raise _unknown(device_id) from None
        except DeviceBusy as busy:
            raise _claimed(busy.record) from None
        return DeviceView.of(moved)

    async def _still_running(self, record: DeviceRecord) -> bool:
        if self._temporal is None or not record.workflow_id:
            return False
        handle = self._temporal.get_workflow_handle(record.workflow_id, run_id=record.run_id)
        with temporal_errors(record.workflow_id):
            try:
                description = await handle.describe()
            except RPCError as error:
                if error.status is RPCStatusCode.NOT_FOUND:  # gone with its retention
                    return False
                raise
        return description.status is WorkflowExecutionStatus.RUNNING


def _not_claimed(record: DeviceRecord) -> RunConflict:
    """DEVICE_NOT_CLAIMED: no run holds the device, there is no claim to free."""
    return RunConflict(
        ErrorCode.DEVICE_NOT_CLAIMED,
        f"device '{record.device_id}' is {record.state.value}: no run holds it",
        links={"device": device_link(record.device_id)},
    )


def _claimed(record: DeviceRecord) -> RunConflict:
    """RUN_IN_PROGRESS for a device a run owns, with that run's links."""
    device_id = record.device_id
    kind = record.run_kind
    owner = f" ({kind.value} run {record.workflow_id})" if kind else ""
    claimed = record.state in CLAIMED_AS.values()
    links = (
        DecommissionLinks.for_device(device_id).model_dump()
        if kind is RunKind.DECOMMISSION
        else RunLinks.for_device(device_id).model_dump()
    )
    return RunConflict(
        ErrorCode.RUN_IN_PROGRESS,
        f"device '{device_id}' is {record.state.value}{owner}"
        if claimed
        else f"device '{device_id}' is {record.state.value}",
        workflow_id=record.workflow_id,
        run_id=record.run_id,
        links={**links, "device": device_link(device_id)},
    )
