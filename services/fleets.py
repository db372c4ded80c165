"""Starting, following and steering fleet runs through the Temporal client."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ValidationError
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from config.policies import PolicyBook
from domain.api_models import FleetLinks, FleetStatus, StartedFleet
from domain.enrollments import Admission
from domain.errors import ErrorCode
from domain.fleet import (
    FLEET_PROGRESS_QUERY,
    FLEET_RETRY_FAILED_UPDATE,
    FLEET_SKIP_UPDATE,
    FleetRequest,
    FleetResult,
    FleetRun,
    FleetSnapshot,
    FleetState,
    FleetTally,
    fleet_workflow_id,
)
from services.enrollments import Enrollments
from services.errors import (
    InternalFailure,
    RequestNotServable,
    RunConflict,
    RunNotFound,
    temporal_errors,
)
from services.hooks import PreProvisioningHooks
from services.runs import QUERY_TIMEOUT, run_update, update_rejected
from services.webhooks import WebhookSubscriptions
from strategies.family import DeviceFamily, installed_families
from strategies.fleet_plan import FleetPlanError, plan_fleet
from strategies.registry import StrategyRegistry
from workflows import search_attributes as sa

FLEET_WORKFLOW = "FleetProvisioning"


def _with_group_sites(request: FleetRequest, admissions: Mapping[str, Admission]) -> FleetRequest:
    """`request` with each device that names no site (nor does the template) given the
    site of the group enrollment that admitted it; `request` itself when none changes."""
    if "site" in request.template.model_fields_set:
        return request
    changed = False
    devices = []
    for device in request.devices:
        admission = admissions.get(device.device_id)
        site = admission.defaults.site if admission is not None else None
        if device.site is None and site is not None:
            device = device.model_copy(update={"site": site})
            changed = True
        devices.append(device)
    return request.model_copy(update={"devices": devices}) if changed else request


class FleetRuns:
    """Start, follow and steer fleet runs; one run per fleet id at a time."""

    def __init__(
        self,
        client: Client,
        registry: StrategyRegistry,
        policies: PolicyBook,
        task_queue: str,
        families: Iterable[DeviceFamily] | None = None,
        enrollments: Enrollments | None = None,
        hooks: PreProvisioningHooks | None = None,
        webhooks: WebhookSubscriptions | None = None,
    ) -> None:
        self._client = client
        # Whether a tenant's runs send run.state_changed (default: none does).
        self._webhooks = webhooks
        # Whether a tenant's runs ask a pre-provisioning hook (default: none has one).
        self._hooks = hooks or PreProvisioningHooks(None, None)
        self._registry = registry
        self._policies = policies
        self._task_queue = task_queue
        # Whose request models check each device (default: the installed families).
        self._families = list(installed_families() if families is None else families)
        # Admits each device when the tenant requires enrollment (default: none required).
        self._enrollments = enrollments or Enrollments(None)

    async def start(
        self, fleet_id: str, request: FleetRequest, *, tenant: str = "default"
    ) -> StartedFleet:
        """Plan every device (all must be supported and, when the tenant requires it,
        enrolled; a group enrollment's site goes to the devices it admits that have
        none) and start the fleet run.

        Raises:
            NotAdmitted: DEVICE_NOT_ENROLLED, `refused` listing the devices; nothing started.
        """
        run = self._plan(fleet_id, request)
        admissions = await self._enrollments.check_fleet(
            [request.descriptor(device) for device in request.devices], tenant
        )
        sited = _with_group_sites(request, admissions)
        if sited is not request:
            run = self._plan(fleet_id, sited)
        return await self._start(run.model_copy(update={"tenant": tenant}))

    def _plan(self, fleet_id: str, request: FleetRequest) -> FleetRun:
        try:
            return plan_fleet(
                fleet_id, request, self._registry, self._policies.for_strategy, self._families
            )
        except FleetPlanError as error:
            raise RequestNotServable(
                ErrorCode.UNSUPPORTED_DEVICE,
                f"{error.total_rejected} of {len(request.devices)} devices cannot be "
                "provisioned; nothing was started",
                rejected=error.rejected,
            ) from None
        except ValidationError as error:
            # The template and a device's own fields are valid apart, not together (a
            # template field left empty that no device fills in): the request's fault.
            errors = error.errors(include_url=False, include_context=False, include_input=False)
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST,
                "a device of the fleet, completed from the template, is invalid",
                errors=[
                    {"loc": ["devices", "*", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                    for e in errors
                ],
            ) from None

    async def _start(self, run: FleetRun) -> StartedFleet:
        hooked = await self._hooks.configured(run.tenant)
        states = self._webhooks is not None and await self._webhooks.sends_run_states(run.tenant)
        run = run.model_copy(update={"pre_provisioning_hook": hooked, "state_events": states})
        workflow_id = fleet_workflow_id(run.fleet_id)
        try:
            with temporal_errors(workflow_id):
                handle: WorkflowHandle[object, object] = await self._client.start_workflow(
                    FLEET_WORKFLOW,
                    run,
                    id=workflow_id,
                    task_queue=self._task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(sa.FLEET_ID, run.fleet_id),
                            SearchAttributePair(sa.TENANT, run.tenant),
                        ]
                    ),
                    static_summary=f"fleet {run.fleet_id}: {run.total} devices",
                    # A worker of this process on the task queue (make run) takes the
                    # first workflow task in the start's answer; otherwise a plain start.
                    request_eager_start=True,
                )
        except WorkflowAlreadyStartedError as error:
            raise RunConflict(
                ErrorCode.RUN_IN_PROGRESS,
                f"fleet '{run.fleet_id}' already has a run in progress",
                workflow_id=workflow_id,
                run_id=error.run_id,
            ) from None
        return StartedFleet(
            fleet_id=run.fleet_id,
            workflow_id=workflow_id,
            run_id=handle.result_run_id or "",
            total=run.total,
            links=FleetLinks.for_fleet(run.fleet_id),
        )

    async def status(self, fleet_id: str) -> FleetStatus:
        """Aggregate progress and the Temporal execution status of the fleet."""
        description = await self._describe(fleet_id)
        snapshot = await self.query_progress(description.id, description.run_id)
        return FleetStatus(
            **snapshot.model_dump(),
            run_id=description.run_id,
            execution_status=description.status.name if description.status else "UNKNOWN",
            links=FleetLinks.for_fleet(fleet_id),
        )

    async def query_progress(self, workflow_id: str, run_id: str | None = None) -> FleetSnapshot:
        """The fleet's `fleet_progress` query (a closed fleet answers too)."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        with temporal_errors(workflow_id):
            snapshot: FleetSnapshot = await handle.query(
                FLEET_PROGRESS_QUERY, result_type=FleetSnapshot, rpc_timeout=QUERY_TIMEOUT
            )
        return snapshot

    async def retry_failed(
        self, fleet_id: str, device_ids: list[str]
    ) -> FleetSnapshot | StartedFleet:
        """Run failed devices again: in the running fleet, or as a new run of the fleet."""
        description = await self._describe(fleet_id)
        if description.status is WorkflowExecutionStatus.RUNNING:
            progress = await self.query_progress(description.id)
            if progress.state is not FleetState.COMPLETED:
                return await self._update(description, FLEET_RETRY_FAILED_UPDATE, device_ids)
            # Done with its devices, it is sending its end (`fleet.finished`): its result
            # comes in a moment, and the retry is a new run of it like any completed one.
        elif description.status is not WorkflowExecutionStatus.COMPLETED:
            ended = description.status.name if description.status else "CLOSED"
            raise RunConflict(
                ErrorCode.RUN_ALREADY_FINISHED,
                f"fleet '{fleet_id}' ended {ended}; start it again with the devices you want",
            )
        handle = self._client.get_workflow_handle(
            description.id, run_id=description.run_id, result_type=FleetResult
        )
        with temporal_errors(description.id):
            result = await handle.result()
        again = result.to_retry.model_copy(deep=True).take(device_ids)
        if not again:
            raise RunConflict(
                ErrorCode.RUN_ALREADY_FINISHED, f"fleet '{fleet_id}' has no such failed device"
            )
        previous = await self._input(description)
        run = previous.model_copy(
            update={"queue": again, "total": len(again), "tally": FleetTally()}
        )
        return await self._start(run)

    async def skip(self, fleet_id: str, device_ids: list[str]) -> FleetSnapshot:
        """Leave queued devices out of the running fleet."""
        description = await self._describe(fleet_id)
        return await self._update(description, FLEET_SKIP_UPDATE, device_ids)

    async def cancel(self, fleet_id: str) -> FleetSnapshot:
        """Cancel the fleet: running device runs roll back, queued ones never start."""
        description = await self._describe(fleet_id)
        if description.status is not WorkflowExecutionStatus.RUNNING:
            raise RunConflict(ErrorCode.RUN_ALREADY_FINISHED, f"fleet '{fleet_id}' has ended")
        snapshot = await self.query_progress(description.id)
        with temporal_errors(description.id):
            await self._client.get_workflow_handle(description.id).cancel()
        return snapshot

    async def _update(
        self, description: WorkflowExecutionDescription, update: str, device_ids: list[str]
    ) -> FleetSnapshot:
        if description.status is not WorkflowExecutionStatus.RUNNING:
            raise RunConflict(ErrorCode.RUN_ALREADY_FINISHED, f"'{description.id}' has ended")
        handle = self._client.get_workflow_handle(description.id, run_id=description.run_id)
        try:
            with temporal_errors(description.id):
                snapshot = await run_update(handle, update, device_ids, result_type=FleetSnapshot)
        except WorkflowUpdateFailedError as error:
            raise update_rejected(error) from None
        return snapshot

    async def check_tenant(self, fleet_id: str, tenant: str) -> None:
        """`RunNotFound` unless the fleet belongs to `tenant`."""
        await self.latest_run(fleet_id, tenant)

    async def latest_run(self, fleet_id: str, tenant: str) -> str:
        """The run id of the fleet's latest run, checked like `check_tenant` (a retry
        starts a new run under the same workflow id; a stream follows one run)."""
        description = await self._describe(fleet_id)
        if (description.typed_search_attributes.get(sa.TENANT) or "default") != tenant:
            raise RunNotFound(ErrorCode.RUN_NOT_FOUND, f"no fleet run '{fleet_id}' exists")
        return description.run_id

    async def _describe(self, fleet_id: str) -> WorkflowExecutionDescription:
        workflow_id = fleet_workflow_id(fleet_id)
        with temporal_errors(workflow_id):
            return await self._client.get_workflow_handle(workflow_id).describe()

    async def _input(self, description: WorkflowExecutionDescription) -> FleetRun:
        handle = self._client.get_workflow_handle(description.id, run_id=description.run_id)
        with temporal_errors(description.id):
            async for event in handle.fetch_history_events():
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [run] = await self._client.data_converter.decode(list(payloads), [FleetRun])
                if isinstance(run, FleetRun):
                    return run
                break
        raise InternalFailure(ErrorCode.INTERNAL_ERROR, "the fleet's input is not readable")


__all__ = ["FleetRuns"]
