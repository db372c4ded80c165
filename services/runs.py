"""Starting, following and steering provisioning runs through the Temporal client.

Every Temporal error a caller can act on becomes a domain error with a stable code
here (`services.errors`), so the entry points stay thin and know nothing of Temporal.
`DeviceRuns` is what every run of a device shares — status, progress, cancel, its
tenant — for the provisioning runs here and the decommissioning runs
(`services.decommissions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from config.policies import PolicyBook
from domain.api_models import RunLinks, RunStatus, StartedRun, StrategyMatch, StrategyQuery
from domain.enrollments import CLAIM_SECRET, Admission, EnrollmentKind
from domain.errors import ErrorCode
from domain.progress import ProgressSnapshot
from domain.registry import NO_REGISTRY, RunKind, StartFacts, StartFactsReader
from domain.requests import (
    ClientBleReport,
    NetworkCredentials,
    ProvisionRequest,
    ReprovisionPolicy,
    Transport,
)
from domain.run import (
    CLIENT_BLE_RESULT_UPDATE,
    FORGET_CREDENTIALS_UPDATE,
    PROGRESS_QUERY,
    RETRY_UPDATE,
    SUBMIT_CREDENTIALS_UPDATE,
    ProvisionRun,
    workflow_id_of,
)
from services.devices import check_provisionable
from services.enrollments import Enrollments
from services.errors import (
    InternalFailure,
    RequestNotServable,
    RunConflict,
    RunNotFound,
    ServiceError,
    TemporalUnavailable,
    temporal_errors,
)
from strategies.family import DeviceFamily, installed_families
from strategies.registry import SelectionError, StrategyRegistry
from workflows import search_attributes as sa

T = TypeVar("T")

QUERY_TIMEOUT = timedelta(seconds=5)
"""How long a progress query may wait for a worker (closed runs are replayed by one)."""
UPDATE_TIMEOUT = timedelta(seconds=60)
"""How long a caller waits for an update (a retry runs the compensations first)."""


def _finished(workflow_id: str, status: WorkflowExecutionStatus | None) -> RunConflict:
    name = status.name if status is not None else "CLOSED"
    return RunConflict(
        ErrorCode.RUN_ALREADY_FINISHED, f"run '{workflow_id}' has already finished ({name})"
    )


UPDATE_OUTLIVED_RUN = "AcceptedUpdateCompletedWorkflow"
"""The server's failure type for an update whose run ended before it answered it (a
cancel or a failure that ended the run while the request was on its way)."""


UPDATE_NOT_PROCESSED = "UnprocessedUpdate"
"""The server's failure type for an update the run's worker did not take up in the
workflow task it was delivered with (the SDK saw it arrive with other new work): it did
not take effect, and the run goes on."""
UPDATE_SENDS = 3
"""Times an update the worker did not take up is sent (it did not take effect)."""


def _failure_type(error: WorkflowUpdateFailedError) -> str | None:
    """The `ApplicationError` type an update failed with, if any."""
    cause = error.cause
    return cause.type if isinstance(cause, ApplicationError) else None


async def run_update(
    handle: WorkflowHandle[Any, Any], update: str, *args: Any, result_type: type[T]
) -> T:
    """`handle.execute_update`, sent again when the run's worker did not take it up
    (`UPDATE_NOT_PROCESSED`: safe, it did not take effect), `UPDATE_SENDS` times at most."""

    async def send() -> T:
        result: T = await handle.execute_update(
            update, args=args, result_type=result_type, rpc_timeout=UPDATE_TIMEOUT
        )
        return result

    for _ in range(UPDATE_SENDS - 1):
        try:
            return await send()
        except WorkflowUpdateFailedError as error:
            if _failure_type(error) != UPDATE_NOT_PROCESSED:
                raise
    return await send()


def update_rejected(error: WorkflowUpdateFailedError) -> ServiceError:
    """The domain error of an update the run refused (its `ApplicationError` type)."""
    cause = error.cause
    if _failure_type(error) == UPDATE_NOT_PROCESSED:
        return TemporalUnavailable(
            ErrorCode.TEMPORAL_UNAVAILABLE,
            "the run's worker did not take the request up; it did not take effect: try again",
        )
    if _failure_type(error) == UPDATE_OUTLIVED_RUN:
        return RunConflict(
            ErrorCode.RUN_ALREADY_FINISHED,
            "the run ended before it took the request; it did not take effect",
        )
    if isinstance(cause, ApplicationError) and cause.type:
        code = ErrorCode.from_type(cause.type)
        if code is ErrorCode.INTERNAL_ERROR:
            return InternalFailure(code, cause.message)
        return RunConflict(code, cause.message)
    return InternalFailure(ErrorCode.INTERNAL_ERROR, "the run could not handle the request")


def _with_defaults(request: ProvisionRequest, admission: Admission) -> ProvisionRequest:
    """`request` with what its group enrollment gives where it leaves it open."""
    defaults = admission.defaults
    device = request.device
    if defaults.site is not None and "site" not in device.model_fields_set:
        device = device.model_copy(update={"site": defaults.site})
    strategy = request.strategy if request.strategy is not None else defaults.strategy
    return request.model_copy(update={"device": device, "strategy": strategy})


class DeviceRuns:
    """Follow and cancel a device's runs of one kind (one at a time per device, under the
    workflow id of that kind): what provisioning and decommissioning runs share.

    Args:
        client: Temporal client with the pydantic data converter.
    """

    kind: ClassVar[RunKind]

    def __init__(self, client: Client) -> None:
        self._client = client

    def workflow_id(self, device_id: str) -> str:
        """The workflow id of the device's runs of this kind."""
        return workflow_id_of(self.kind, device_id)

    async def _latest(
        self, device_id: str
    ) -> tuple[ProgressSnapshot, WorkflowExecutionDescription]:
        """The progress snapshot of the device's latest run and how Temporal describes it."""
        description = await self._describe(device_id)
        return await self.query_progress(self.workflow_id(device_id), description.run_id), (
            description
        )

    async def query_progress(self, workflow_id: str, run_id: str | None = None) -> ProgressSnapshot:
        """Run the `progress` query (closed runs answer too: a worker replays them)."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        with temporal_errors(workflow_id):
            try:
                snapshot: ProgressSnapshot = await handle.query(
                    PROGRESS_QUERY, result_type=ProgressSnapshot, rpc_timeout=QUERY_TIMEOUT
                )
            except WorkflowQueryFailedError as error:
                raise InternalFailure(
                    ErrorCode.INTERNAL_ERROR, f"the progress query failed: {error.message}"
                ) from error
        return snapshot

    async def cancel(self, device_id: str) -> ProgressSnapshot:
        """Request cancellation; the run rolls the device back and ends.

        Returns the snapshot as of the request: cancellation is asynchronous. The
        snapshot is read first so that `TemporalUnavailable` (no worker answers) means
        nothing changed.
        """
        description = await self._describe(device_id)
        handle = self._running_handle(description)
        snapshot = await self.query_progress(description.id, description.run_id)
        with temporal_errors(description.id):
            await handle.cancel()
            after = await handle.describe()
        if after.status not in (None, WorkflowExecutionStatus.RUNNING) and not (
            await self._cancel_recorded(handle)
        ):
            # The server accepts a cancel for a run that closed a moment earlier and
            # records nothing: the cancel had no effect.
            raise _finished(description.id, after.status)
        return snapshot

    @staticmethod
    async def _cancel_recorded(handle: WorkflowHandle[object, object]) -> bool:
        """Whether the run's history holds a cancel request (read only for a closed run)."""
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_execution_cancel_requested_event_attributes"):
                return True
        return False

    async def check_tenant(self, device_id: str, tenant: str) -> None:
        """`RunNotFound` unless the device's run belongs to `tenant` (runs without one:
        `default`).

        Another tenant's run answers exactly like a missing one, so ids leak nothing.
        """
        await self.latest_run(device_id, tenant)

    async def latest_run(self, device_id: str, tenant: str) -> str:
        """The run id of the device's latest run, checked like `check_tenant`.

        Streams follow this run, not whichever run of the workflow id is the latest
        at each query: a retry starts a new run under the same workflow id.
        """
        description = await self._describe(device_id)
        owner = description.typed_search_attributes.get(sa.TENANT) or "default"
        if owner != tenant:
            raise RunNotFound(
                ErrorCode.RUN_NOT_FOUND,
                f"no {self.kind.value} run '{self.workflow_id(device_id)}' exists",
            )
        return description.run_id

    async def running(self, device_id: str, tenant: str) -> str | None:
        """The run id of the device's run of this kind if one of `tenant`'s is running."""
        try:
            description = await self._describe(device_id)
        except RunNotFound:
            return None
        owner = description.typed_search_attributes.get(sa.TENANT) or "default"
        if description.status is not WorkflowExecutionStatus.RUNNING or owner != tenant:
            return None
        return description.run_id

    async def _describe(self, device_id: str) -> WorkflowExecutionDescription:
        workflow_id = self.workflow_id(device_id)
        with temporal_errors(workflow_id):
            return await self._client.get_workflow_handle(workflow_id).describe()

    def _running_handle(
        self, description: WorkflowExecutionDescription
    ) -> WorkflowHandle[object, object]:
        if description.status is not WorkflowExecutionStatus.RUNNING:
            raise _finished(description.id, description.status)
        return self._client.get_workflow_handle(description.id, run_id=description.run_id)


async def _no_registry(tenant: str, device_id: str) -> StartFacts:
    return NO_REGISTRY


class ProvisioningRuns(DeviceRuns):
    """Start, follow and steer provisioning runs; one run per device at a time.

    Args:
        client: Temporal client with the pydantic data converter.
        registry: Selects each device's strategy.
        policies: Resolves the lifecycle policy a new run starts with.
        task_queue: Task queue of the central workers.
        families: Whose request models check the requests of their strategies
            (default: the installed families).
        start_facts: Reads, in one unit of work, what a start needs of the registry:
            the device's record (to refuse up front a run whose claim would lose:
            another tenant's device, a device in service or claimed) and its tenant's
            settings (enrollment required, a pre-provisioning hook, a subscription to
            `run.state_changed`). Default: no registry (`NO_REGISTRY`).
        enrollments: Admits devices when their tenant requires enrollment (default:
            none kept).
    """

    kind = RunKind.PROVISION

    def __init__(
        self,
        client: Client,
        registry: StrategyRegistry,
        policies: PolicyBook,
        task_queue: str,
        families: Iterable[DeviceFamily] | None = None,
        start_facts: StartFactsReader | None = None,
        enrollments: Enrollments | None = None,
    ) -> None:
        super().__init__(client)
        self._registry = registry
        self._policies = policies
        self._task_queue = task_queue
        chosen = installed_families() if families is None else families
        self._families = {family.name: family for family in chosen}
        self._start_facts = start_facts or _no_registry
        self._enrollments = enrollments or Enrollments(None)

    async def start(
        self, request: ProvisionRequest, *, started_by: str = "api", tenant: str = "default"
    ) -> StartedRun:
        """Select the strategy of the device and start its run.

        Raises:
            RequestNotServable: no strategy serves the device (UNSUPPORTED_DEVICE, ...),
                or the request lacks what the strategy's family asks for
                (INVALID_REQUEST, with `errors` as for an invalid body).
            RunConflict: a run of the device is in flight (RUN_IN_PROGRESS), or the
                device is in service (DEVICE_IN_SERVICE).
            DeviceUnknown: the registry holds the device for another tenant.
            NotAdmitted: the tenant requires enrollment and none admits the device
                (DEVICE_NOT_ENROLLED).
            TemporalUnavailable: Temporal does not answer.
        """
        claim_secret = request.secret(CLAIM_SECRET)
        if CLAIM_SECRET in request.secrets:  # checked here; never carried into the run
            kept = {name: value for name, value in request.secrets.items() if name != CLAIM_SECRET}
            request = request.model_copy(update={"secrets": kept})
        facts = await self._start_facts(tenant, request.device.device_id)
        admission = await self._enrollments.admission(
            request.device, tenant, claim_secret, required=facts.enrollment_required
        )
        if admission is not None:
            request = _with_defaults(request, admission)
        try:
            strategy = self._registry.select(request.device, override=request.strategy)
        except SelectionError as error:
            raise RequestNotServable(error.code, error.message, reasons=error.reasons()) from None
        family = self._families.get(strategy.name)
        errors = family.request_errors(request) if family is not None else []
        if errors:
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST,
                f"the request lacks what strategy '{strategy.name}' needs",
                errors=errors,
            )
        if request.reprovision not in strategy.spec.reprovision:
            notes = dict(strategy.spec.reprovision_notes)
            note = notes.get(request.reprovision)
            raise RequestNotServable(
                ErrorCode.REPROVISION_POLICY_UNSUPPORTED,
                f"strategy '{strategy.name}' does not support re-provisioning policy "
                f"'{request.reprovision.value}'" + (f": {note}" if note else ""),
                supported=[p.value for p in ReprovisionPolicy if p in strategy.spec.reprovision],
            )
        if request.transport not in strategy.spec.transports:
            raise RequestNotServable(
                ErrorCode.TRANSPORT_UNSUPPORTED,
                f"strategy '{strategy.name}' does not onboard devices with transport "
                f"'{request.transport.value}'",
                supported=[t.value for t in Transport if t in strategy.spec.transports],
            )
        run = ProvisionRun(
            request=request,
            strategy=strategy.name,
            policy=self._policies.for_strategy(strategy.name),
            started_by=started_by,
            tenant=tenant,
            enrollment=admission.reference if admission is not None else None,
        )
        return await self._start(run, strategy.spec.workflow, facts)

    async def _start(self, run: ProvisionRun, workflow_type: str, facts: StartFacts) -> StartedRun:
        device = run.request.device
        workflow_id = self.workflow_id(device.device_id)
        in_service = check_provisionable(
            facts.record, device.device_id, run.tenant, run.request.reprovision
        )
        run = run.model_copy(
            update={"pre_provisioning_hook": facts.hooked, "state_events": facts.sends_run_states}
        )
        if not in_service and run.request.reprovision is not ReprovisionPolicy.NEVER:
            if run.request.tenant is not None:
                raise RunConflict(
                    ErrorCode.DEVICE_NOT_IN_SERVICE,
                    f"device '{device.device_id}' is not in service: there is nothing to "
                    "migrate to another tenant (an admin transfers it: POST …/transfer)",
                    links={"device": f"/api/v1/devices/{device.device_id}"},
                )
            # A policy is about a device in service; any other is provisioned as new.
            request = run.request.model_copy(update={"reprovision": ReprovisionPolicy.NEVER})
            run = run.model_copy(update={"request": request})
        try:
            with temporal_errors(workflow_id):
                handle: WorkflowHandle[object, object] = await self._client.start_workflow(
                    workflow_type,
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
            await self._refuse_another_tenants_device(device.device_id, run.tenant)
            raise RunConflict(
                ErrorCode.RUN_IN_PROGRESS,
                f"device '{device.device_id}' already has a run in progress",
                workflow_id=workflow_id,
                run_id=error.run_id,
                links=RunLinks.for_device(device.device_id).model_dump(),
            ) from None
        return StartedRun(
            workflow_id=workflow_id,
            run_id=handle.result_run_id or "",
            device_id=device.device_id,
            strategy=run.strategy,
            enrollment=run.enrollment,
            links=RunLinks.for_device(device.device_id),
        )

    async def status(self, device_id: str) -> RunStatus:
        """The progress snapshot of the device's latest run and its execution status."""
        snapshot, description = await self._latest(device_id)
        status = description.status
        return RunStatus(
            **snapshot.model_dump(),
            run_id=description.run_id,
            execution_status=status.name if status is not None else "UNKNOWN",
            links=RunLinks.for_device(device_id),
        )

    async def submit_credentials(
        self, device_id: str, credentials: NetworkCredentials
    ) -> ProgressSnapshot:
        """Hand network credentials to a running run (PENDING_NETWORK or earlier)."""
        description = await self._describe(device_id)
        handle = self._running_handle(description)
        with self._update_errors(description):
            result = await run_update(
                handle, SUBMIT_CREDENTIALS_UPDATE, credentials, result_type=ProgressSnapshot
            )
        return result

    async def report_client_ble(self, device_id: str, report: ClientBleReport) -> ProgressSnapshot:
        """Tell a `client-ble` run what the installer's browser did with the device.

        Raises:
            RunConflict: RUN_NOT_WAITING when the run does not wait for the browser
                (another transport, or not at that step); DEVICE_MISMATCH when the
                browser used another device than the run's.
        """
        description = await self._describe(device_id)
        handle = self._running_handle(description)
        with self._update_errors(description):
            result = await run_update(
                handle, CLIENT_BLE_RESULT_UPDATE, report, result_type=ProgressSnapshot
            )
        return result

    async def forget_credentials(self, device_id: str) -> ProgressSnapshot:
        """Make a running run drop its network credentials and ask for them again."""
        description = await self._describe(device_id)
        handle = self._running_handle(description)
        with self._update_errors(description):
            result = await run_update(
                handle, FORGET_CREDENTIALS_UPDATE, result_type=ProgressSnapshot
            )
        return result

    def match(self, query: StrategyQuery) -> StrategyMatch:
        """The strategy that would provision `query.device` (the same rules as `start`).

        Raises:
            RequestNotServable: with every strategy's reasons when none serves the device.
        """
        try:
            strategy = self._registry.select(query.device, override=query.strategy)
        except SelectionError as error:
            raise RequestNotServable(error.code, error.message, reasons=error.reasons()) from None
        spec = strategy.spec
        return StrategyMatch(
            strategy=spec.name,
            description=spec.description,
            requires_network=spec.requires_network,
            placement=spec.placement.value,
            secrets=sorted(spec.required_secrets),
            transports=[t.value for t in Transport if t in spec.transports],
        )

    async def retry(
        self, device_id: str, *, started_by: str = "api", tenant: str | None = None
    ) -> ProgressSnapshot | StartedRun:
        """Start over: within a waiting run (its snapshot), or as a new run after a failure.

        Raises:
            RunConflict: RUN_NOT_WAITING when a running run is busy,
                RUN_ALREADY_FINISHED after a success.
            RunNotFound: the device has no run.
            NotAdmitted: a new run's device is no longer admitted (DEVICE_NOT_ENROLLED).
        """
        description = await self._describe(device_id)
        if description.status is WorkflowExecutionStatus.RUNNING:
            handle = self._running_handle(description)
            try:
                with self._update_errors(description):
                    result = await run_update(handle, RETRY_UPDATE, result_type=ProgressSnapshot)
                return result
            except ServiceError as problem:
                # The run ended between the describe and the update (e.g. a cancel was
                # finishing): retry it as the ended run it now is.
                if problem.code is not ErrorCode.RUN_ALREADY_FINISHED:
                    raise
                description = await self._describe(device_id)
                if description.status is WorkflowExecutionStatus.RUNNING:
                    raise
        if description.status is WorkflowExecutionStatus.COMPLETED:
            raise RunConflict(
                ErrorCode.RUN_ALREADY_FINISHED,
                f"run '{description.id}' succeeded; there is nothing to retry",
            )
        previous = await self._original_input(description)
        run = previous.model_copy(
            update={
                "started_by": started_by,
                "retry_of": f"{description.id}/{description.run_id}",
                "tenant": tenant or previous.tenant,
            }
        )
        try:
            self._registry.get(run.strategy)
        except SelectionError as error:
            raise RequestNotServable(error.code, error.message, reasons=error.reasons()) from None
        # Enrollments may have changed since: a new run is admitted again (a claim
        # secret is never kept; the repeated run's admission proved it).
        facts = await self._start_facts(run.tenant, device_id)
        admission = await self._enrollments.admission(
            run.request.device,
            run.tenant,
            None,
            required=facts.enrollment_required,
            secret_proven=previous.enrollment == f"{EnrollmentKind.INDIVIDUAL.value}/{device_id}",
        )
        run = run.model_copy(update={"enrollment": admission.reference if admission else None})
        try:
            return await self._start(run, description.workflow_type, facts)
        except RunConflict as conflict:
            if conflict.code is not ErrorCode.RUN_IN_PROGRESS:
                raise
            # Another retry started the new run since the describe above (explorer
            # finding 1989486353/0: two retries 40 ms apart): this one lands on a run
            # in flight that waits for nothing, as if it had come a moment later.
            raise RunConflict(
                ErrorCode.RUN_NOT_WAITING,
                f"a new run of device '{device_id}' has just started; it is not waiting "
                "for a retry",
            ) from None

    async def _refuse_another_tenants_device(self, device_id: str, tenant: str) -> None:
        """`RunNotFound` (404, naming no run) when another tenant's run holds the device."""
        try:
            await self.latest_run(device_id, tenant)
        except RunNotFound:
            raise RunNotFound(
                ErrorCode.NOT_FOUND, f"no device '{device_id}' can be provisioned with this key"
            ) from None

    @contextmanager
    def _update_errors(self, description: WorkflowExecutionDescription) -> Iterator[None]:
        try:
            with temporal_errors(description.id):
                yield
        except WorkflowUpdateFailedError as error:
            raise update_rejected(error) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise TemporalUnavailable(
                ErrorCode.TEMPORAL_UNAVAILABLE,
                "the run did not answer in time; the request may still take effect: "
                "check the run's status",
            ) from None
        except ServiceError as problem:
            # The run was described as running: NOT_FOUND now means it closed since.
            if problem.code is ErrorCode.RUN_NOT_FOUND:
                raise _finished(description.id, None) from None
            raise
        except RPCError as error:
            # The server aborts an update whose workflow task failed (a worker killed or
            # failing mid-task) with WorkflowNotReady: it did not take effect.
            if error.status is RPCStatusCode.FAILED_PRECONDITION:
                raise TemporalUnavailable(
                    ErrorCode.TEMPORAL_UNAVAILABLE,
                    "the run could not take the request just now (a workflow task of it "
                    "failed); it did not take effect: try again",
                ) from None
            raise

    async def _original_input(self, description: WorkflowExecutionDescription) -> ProvisionRun:
        handle = self._client.get_workflow_handle(description.id, run_id=description.run_id)
        first: HistoryEvent | None = None
        with temporal_errors(description.id):
            async for event in handle.fetch_history_events():
                first = event
                break
        if first is None or not first.HasField("workflow_execution_started_event_attributes"):
            raise InternalFailure(
                ErrorCode.INTERNAL_ERROR, "the history of the run has no start event"
            )
        payloads = first.workflow_execution_started_event_attributes.input.payloads
        [run] = await self._client.data_converter.decode(list(payloads), [ProvisionRun])
        if not isinstance(run, ProvisionRun):
            raise InternalFailure(ErrorCode.INTERNAL_ERROR, "the run's input is not readable")
        return run
