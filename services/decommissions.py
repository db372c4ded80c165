"""Taking devices out of service: starting and following decommissioning runs.

A decommissioning run is its device family's decommissioning workflow (the family's
`DeviceFamily.decommission` plan), under a workflow id of its own per device
(`decommission-<id>`). It and a provisioning run of the same device exclude each other
through the registry's claim, which both take first; the API only refuses up front what
it can see: a running provisioning run of the caller's, a device a run has claimed, a
device not in service.
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from config.policies import PolicyBook
from domain.api_models import (
    DecommissionLinks,
    DecommissionStatus,
    RunLinks,
    StartedDecommission,
)
from domain.errors import ErrorCode
from domain.registry import RunKind
from domain.requests import ProvisionRequest
from domain.run import ProvisionRun
from services.devices import DeviceInventory
from services.errors import RequestNotServable, RunConflict, temporal_errors
from services.runs import DeviceRuns, ProvisioningRuns
from services.webhooks import WebhookSubscriptions
from strategies.decommission import device_of
from strategies.family import DeviceFamily, installed_families
from workflows import search_attributes as sa


class Decommissions(DeviceRuns):
    """Start, follow and cancel decommissioning runs; one per device at a time.

    Args:
        client: Temporal client with the pydantic data converter.
        policies: Resolves the step policies a run starts with (its family's).
        task_queue: Task queue of the central workers.
        devices: The device inventory: the record the run starts from.
        provisioning: The provisioning runs, to refuse up front while one runs.
        families: Whose decommissioning plans run (default: the installed families).
        webhooks: Whether a tenant's runs send `run.state_changed` (default: none does).
    """

    kind = RunKind.DECOMMISSION

    def __init__(
        self,
        client: Client,
        policies: PolicyBook,
        task_queue: str,
        devices: DeviceInventory,
        provisioning: ProvisioningRuns,
        families: Iterable[DeviceFamily] | None = None,
        webhooks: WebhookSubscriptions | None = None,
    ) -> None:
        super().__init__(client)
        self._policies = policies
        self._task_queue = task_queue
        self._devices = devices
        self._provisioning = provisioning
        self._webhooks = webhooks
        chosen = installed_families() if families is None else families
        self._families = {family.name: family for family in chosen}

    async def start(
        self, device_id: str, *, started_by: str = "api", tenant: str = "default"
    ) -> StartedDecommission:
        """Start taking the device out of service, by its family's plan.

        Raises:
            DeviceUnknown: NOT_FOUND: the registry holds no such device for `tenant`.
            RunConflict: RUN_IN_PROGRESS while a run (provisioning or decommissioning)
                has the device or a provisioning run of it is running;
                DEVICE_NOT_IN_SERVICE when it is neither in service nor failed.
            RequestNotServable: DECOMMISSION_UNSUPPORTED: its family cannot.
            TemporalUnavailable: Temporal does not answer.
        """
        running = await self._provisioning.running(device_id, tenant)
        if running is not None:
            raise RunConflict(
                ErrorCode.RUN_IN_PROGRESS,
                f"device '{device_id}' has a provisioning run in progress",
                workflow_id=self._provisioning.workflow_id(device_id),
                run_id=running,
                links=RunLinks.for_device(device_id).model_dump(),
            )
        record = await self._devices.check_decommissionable(device_id, tenant)
        family = self._families.get(record.strategy)
        plan = family.decommission if family is not None else None
        if plan is None:
            raise RequestNotServable(
                ErrorCode.DECOMMISSION_UNSUPPORTED,
                f"strategy '{record.strategy}' of device '{device_id}' cannot take it out of "
                "service",
            )
        run = ProvisionRun(
            kind=RunKind.DECOMMISSION,
            request=ProvisionRequest(device=device_of(record)),
            strategy=record.strategy,
            policy=self._policies.for_strategy(record.strategy),
            started_by=started_by,
            tenant=tenant,
            state_events=(
                self._webhooks is not None and await self._webhooks.sends_run_states(tenant)
            ),
        )
        workflow_id = self.workflow_id(device_id)
        try:
            with temporal_errors(workflow_id):
                handle: WorkflowHandle[object, object] = await self._client.start_workflow(
                    plan.workflow,
                    run,
                    id=workflow_id,
                    task_queue=self._task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    search_attributes=sa.initial_search_attributes(run),
                    static_summary=run.summary(),
                    static_details=run.details(),
                    # A worker of this process on the task queue (make run) takes the
                    # first workflow task in the start's answer; otherwise a plain start.
                    request_eager_start=True,
                )
        except WorkflowAlreadyStartedError as error:
            raise RunConflict(
                ErrorCode.RUN_IN_PROGRESS,
                f"device '{device_id}' already has a decommissioning run in progress",
                workflow_id=workflow_id,
                run_id=error.run_id,
                links=DecommissionLinks.for_device(device_id).model_dump(),
            ) from None
        return StartedDecommission(
            workflow_id=workflow_id,
            run_id=handle.result_run_id or "",
            device_id=device_id,
            strategy=record.strategy,
            links=DecommissionLinks.for_device(device_id),
        )

    async def status(self, device_id: str) -> DecommissionStatus:
        """The progress snapshot of the device's latest decommissioning run."""
        snapshot, description = await self._latest(device_id)
        status = description.status
        return DecommissionStatus(
            **snapshot.model_dump(),
            run_id=description.run_id,
            execution_status=status.name if status is not None else "UNKNOWN",
            links=DecommissionLinks.for_device(device_id),
        )
