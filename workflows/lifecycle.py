"""The provisioning lifecycle every strategy workflow runs.

detect → pre-check → (wait for network credentials) → provision → confirm, with
compensations pushed as steps succeed and run in reverse when the run fails or is
cancelled. Strategy workflows subclass `LifecycleWorkflow`, add `@workflow.defn` and
`@workflow.run`, and implement the steps by calling their activities.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    is_cancelled_exception,
)
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from domain.device import DeviceDescriptor
    from domain.errors import Code, ErrorCode
    from domain.facts import DetectedDevice
    from domain.hooks import HookCall, HookVerdict
    from domain.policies import StepPolicy
    from domain.progress import ProgressEvent, ProgressSnapshot, ProvisionResult
    from domain.registry import (
        DeviceClaim,
        DeviceFacts,
        DeviceRecord,
        Outcome,
        RunKind,
        RunOutcome,
    )
    from domain.requests import NetworkCredentials, ReprovisionPolicy
    from domain.run import (
        CENTRAL_TASK_QUEUE,
        FORGET_CREDENTIALS_UPDATE,
        PROGRESS_QUERY,
        RETRY_UPDATE,
        SUBMIT_CREDENTIALS_UPDATE,
        ProvisionRun,
        edge_task_queue,
    )
    from domain.states import ProvisioningState, Step, VisibleState
    from domain.webhooks import (
        EventType,
        RunEventData,
        RunStateData,
        WebhookEvent,
        WebhookEventBatch,
        run_event_type,
        sends_state_changed,
    )
    from strategies.activity_contract import ActivityContract
    from strategies.base import Placement, PreCheckVerdict, StrategySpec
    from strategies.decommission import (
        DecommissionPlan,
        DecommissionTarget,
        ServiceCheck,
        UndoStep,
    )
    from strategies.device_records import (
        HOOK_STAGE,
        REGISTRY_STAGE,
        REGISTRY_STEP_POLICY,
        WEBHOOK_STAGE,
        WEBHOOK_STEP_POLICY,
        DeviceRecordActivity,
        HookActivity,
        WebhookActivity,
    )
    from workflows import search_attributes as sa
    from workflows.activity_options import activity_options
    from workflows.failures import StepFailure, failure_from

ResultT = TypeVar("ResultT")
ArgT = TypeVar("ArgT")

STAGE_ATTRIBUTE = "activity_stage"
"""The run's attribute naming the stage of the activity it schedules: set just before
each `execute_activity` (nothing runs in between), read by the workflow interceptor
that tags the activity for the audit log and metrics (worker/observability)."""

StateObserver = Callable[[dict[str, Any]], None]
"""Called with the fields of each state change of a run (ids, names, state, step,
attempt, error code, message: never a secret)."""

_state_observers: list[StateObserver] = []
observer_failures = logging.getLogger("devprov.workflow.state")


def observe_states(observer: StateObserver) -> None:
    """Have `observer` called at every state change of every run this process's workers
    run (the worker's audit log and metrics), never while a worker replays history: so
    each change is seen once. An observer that raises is logged, never fails the run."""
    if observer not in _state_observers:
        _state_observers.append(observer)


MAX_EVENTS = 500
"""Events kept in the progress snapshot; older ones are dropped first."""

_DEVICE_ABSENT = {ErrorCode.DEVICE_UNREACHABLE, ErrorCode.DEVICE_TIMEOUT}


class _RestartRequested(Exception):
    """A person asked to start over from detection."""


class _RoundRestart(Exception):
    """The credentials changed while the device step waited: provision again with them."""


class _CancelledDuringRollback(BaseException):
    """A cancel arrived while the attempt rolled back: the run ends as cancelled.

    A BaseException, like asyncio's cancellation, so that no step's handler takes it.
    """

    def __init__(self, rollback: Rollback) -> None:
        super().__init__("cancelled during the rollback")
        self.rollback = rollback


class _EdgeWorkerLost(StepFailure):
    """No edge worker took a device step in time: the gateway the run was pinned to, or
    any gateway of the site. The lifecycle fails over (undoes the attempt and starts
    another); where it cannot, the run fails with EDGE_WORKER_LOST."""

    def __init__(self, queue: str, message: str) -> None:
        super().__init__(ErrorCode.EDGE_WORKER_LOST, message)
        self.queue = queue


class _CredentialsRejected(Exception):
    """The device or its network refused the credentials; ask for new ones."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Compensation:
    """An undo action pushed once its step has (or may have) changed the device."""

    description: str
    action: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Rollback:
    """What one rollback did: whether it had anything to undo, and what it could not."""

    undid_something: bool
    leftovers: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.leftovers


def _undone(rollback: Rollback) -> str:
    return "could not " + ", ".join(f"'{step}'" for step in rollback.leftovers)


_BEFORE_NETWORK_USE = frozenset(
    {
        ProvisioningState.PENDING,
        ProvisioningState.DETECTING,
        ProvisioningState.PRE_CHECK,
        ProvisioningState.WAITING_FOR_DEVICE,
        ProvisioningState.PENDING_NETWORK,
    }
)
"""States in which a run takes new credentials (or forgets the ones it holds)."""


class LifecycleWorkflow(ABC):
    """Base of every strategy workflow: states, progress, human waits and compensation."""

    spec: ClassVar[StrategySpec]
    decommission_plan: ClassVar[DecommissionPlan | None] = None
    """How the family takes a device out of service (`run_decommission`); None: it cannot."""

    @workflow.init
    def __init__(self, run: ProvisionRun) -> None:
        self._run = run
        self.activity_stage: str | None = None  # STAGE_ATTRIBUTE
        self._state = ProvisioningState.PENDING
        self._step = Step.START
        self._message = "run accepted"
        self._attempt = 1
        self._error_code: Code | None = None
        self._reasons: list[str] = []
        self._events: list[ProgressEvent] = []
        self._sequence = 0
        self._network: NetworkCredentials | None = run.request.network
        self._retry_requested = False
        self._round = 0
        self._round_restart = False
        self._cancel_requested = False
        self._leftovers: list[str] = []
        self._compensations: list[Compensation] = []
        self._pinned_queue: str | None = None
        self._failovers = 0
        self._registry_on = False
        self._claim_lost = False
        self._hook_parameters: dict[str, str] = {}
        self._facts: dict[str, str] = {}
        self._reprovision = ReprovisionPolicy.NEVER
        self._reset_done = False
        self._state_events: list[WebhookEvent] = []
        self._shown_in_visibility: tuple[str | None, str | None] | None = None
        self._records_visibility = False
        self._state_events_publisher: asyncio.Task[None] | None = None
        self._updated_at = workflow.now()
        self._record_event(details={})

    # ------------------------------------------------------------------ handlers

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> ProgressSnapshot:
        """Current state, step, message and the events so far."""
        return ProgressSnapshot(
            workflow_id=workflow.info().workflow_id,
            device_id=self._run.device_id,
            strategy=self._run.strategy,
            state=self._state,
            step=self._step,
            message=self._message,
            updated_at=self._updated_at,
            attempt=self._attempt,
            error_code=self._error_code,
            reasons=list(self._reasons),
            awaiting=self._awaiting(),
            network_ssid=self.network_shown(),
            leftovers=list(self._leftovers),
            events=list(self._events),
        )

    @workflow.update(name=SUBMIT_CREDENTIALS_UPDATE)
    async def submit_credentials(self, network: NetworkCredentials) -> ProgressSnapshot:
        """Give the run the network credentials it waits for (or will need).

        While the device step waits on the device with other credentials chosen (e.g.
        Improv's button), that step starts again with these.
        """
        self._network = network
        if self._device_step_waits():
            self._note(
                f"credentials for network '{network.ssid}' received; the device step "
                "starts again with them"
            )
            await self._restart_round()
        else:
            self._note(f"credentials for network '{network.ssid}' received")
            await workflow.wait_condition(lambda: self._state != ProvisioningState.PENDING_NETWORK)
        return self.progress()

    @submit_credentials.validator
    def _validate_credentials(self, network: NetworkCredentials) -> None:
        self._refuse_in_a_decommission("takes no network credentials")
        if not self.takes_network_credentials():
            raise ApplicationError(
                f"this {self.spec.name} run does not take network credentials",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        if self._state not in _BEFORE_NETWORK_USE:
            raise ApplicationError(
                f"the run is {self._state.value}: it is not waiting for credentials",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        if self._retry_requested:
            raise ApplicationError(
                "a retry is under way; send the credentials once the new attempt asks",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )

    @workflow.update(name=RETRY_UPDATE)
    async def retry(self) -> ProgressSnapshot:
        """Start over from detection (undoing what the current attempt changed)."""
        self._retry_requested = True
        self._note("retry requested: undoing this attempt, then starting over")
        attempt = self._attempt
        await workflow.wait_condition(lambda: self._attempt > attempt or self._state.is_terminal)
        return self.progress()

    @retry.validator
    def _validate_retry(self) -> None:
        self._refuse_in_a_decommission("cannot be retried from within; start another")
        if self._state not in {
            ProvisioningState.PENDING_NETWORK,
            ProvisioningState.WAITING_FOR_DEVICE,
        }:
            raise ApplicationError(
                f"the run is {self._state.value}; retry is possible while it waits "
                "for credentials or for the device, or after it has ended",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        if self._retry_requested:
            raise ApplicationError(
                "a retry is already under way", type=ErrorCode.RUN_NOT_WAITING.value
            )

    @workflow.update(name=FORGET_CREDENTIALS_UPDATE)
    async def forget_credentials(self) -> ProgressSnapshot:
        """Drop the network credentials the run holds, so that it asks for them again.

        While the device step waits on the device with them (e.g. Improv's button),
        that step is abandoned and the run asks for credentials (PENDING_NETWORK).
        """
        held = self._network is not None
        self._network = None
        self._note(
            "network credentials forgotten; the run will ask for them again"
            if held
            else "no network credentials were held; the run will ask for them"
        )
        if self._device_step_waits():
            await self._restart_round()
        return self.progress()

    @forget_credentials.validator
    def _validate_forget(self) -> None:
        self._refuse_in_a_decommission("holds no network credentials")
        if not self.takes_network_credentials():
            raise ApplicationError(
                f"this {self.spec.name} run does not take network credentials",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        if self._state not in _BEFORE_NETWORK_USE or self._retry_requested:
            raise ApplicationError(
                f"the run is {self._state.value}: its credentials are in use or no longer "
                "needed; cancel the run or retry it after it ends",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )

    def _refuse_in_a_decommission(self, why: str) -> None:
        if self._run.kind is RunKind.DECOMMISSION:
            raise ApplicationError(
                f"a decommissioning run {why}", type=ErrorCode.RUN_NOT_WAITING.value
            )

    # ------------------------------------------------------------------ strategy steps

    @abstractmethod
    async def detect(self) -> DetectedDevice:
        """Find the device; raise (via its activity) DEVICE_UNREACHABLE when absent."""

    @abstractmethod
    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        """Judge whether the device may be provisioned."""

    @abstractmethod
    async def provision(self, network: NetworkCredentials | None) -> None:
        """Change the device; its compensation is pushed before this runs."""

    @abstractmethod
    async def confirm(self, network: NetworkCredentials | None) -> str:
        """Check the device really works as provisioned; return a success message."""

    @abstractmethod
    async def undo_provision(self) -> None:
        """Compensation of `provision`: idempotent, safe to run more than once."""

    async def migrate(self, network: NetworkCredentials, previous_ssid: str) -> None:
        """Re-provisioning by migration: give the device in service `network`, keeping
        `previous_ssid` as what it falls back to. Families whose strategy declares
        `migrate` implement the three migration steps."""
        raise StepFailure(
            ErrorCode.REPROVISION_POLICY_UNSUPPORTED,
            f"strategy '{self.spec.name}' cannot migrate a device",
        )

    async def confirm_migration(self, network: NetworkCredentials, previous_ssid: str) -> str:
        """Check the device is on `network`; MIGRATION_JOIN_FAILED when it fell back to
        `previous_ssid`. Returns a success message."""
        raise StepFailure(
            ErrorCode.REPROVISION_POLICY_UNSUPPORTED,
            f"strategy '{self.spec.name}' cannot migrate a device",
        )

    async def undo_migration(self, network: NetworkCredentials, previous_ssid: str) -> None:
        """Compensation of `migrate`: the device back on `previous_ssid` (idempotent)."""
        raise StepFailure(
            ErrorCode.REPROVISION_POLICY_UNSUPPORTED,
            f"strategy '{self.spec.name}' cannot migrate a device",
        )

    # ------------------------------------------------------------------ helpers for steps

    def network_shown(self) -> str | None:
        """The network's name the run shows (`network_ssid`): the credentials it holds."""
        return self._network.ssid if self._network else None

    def takes_network_credentials(self) -> bool:
        """Whether this run asks for network credentials (PENDING_NETWORK) and takes them
        through the API: its strategy needs a network, and no one else carries it to the
        device (an installer's browser does for a `client-ble` run)."""
        return self.spec.requires_network

    @property
    def request(self) -> ProvisionRun:
        return self._run

    @property
    def device(self) -> DeviceDescriptor:
        """The device this run provisions."""
        return self._run.request.device

    @property
    def attempt(self) -> int:
        """The current attempt (a retry or a failover starts a new one)."""
        return self._attempt

    @property
    def provisioning_round(self) -> int:
        """The provisioning round within the attempt: new credentials start another."""
        return self._round

    def idempotency_key(self, step: str) -> str:
        """A key for a side effect of `step`: the same across retries of one activity,
        different for every run, attempt and provisioning round (so a restarted attempt,
        or a round with new credentials, never reuses a key for another request)."""
        info = workflow.info()
        return f"{info.workflow_id}/{info.run_id}/{self._attempt}.{self._round}/{step}"

    def device_task_queue(self) -> str:
        """Task queue of the workers that can reach the device."""
        if self._pinned_queue is not None:
            return self._pinned_queue
        if self.spec.placement is Placement.EDGE:
            return edge_task_queue(self._run.request.device.site)
        return CENTRAL_TASK_QUEUE

    async def call(
        self,
        step: Step,
        activity: str,
        arg: Any,
        result_type: type[ResultT],
        *,
        central: bool = False,
        policy: StepPolicy | None = None,
        stage: str | None = None,
    ) -> ResultT:
        """Run one activity of `step` with the step's configured options (or `policy`);
        audit records and metrics name its stage after the step (or `stage`).

        Device steps go to the device's edge queue; `central` ones (e.g. vendor-cloud
        calls) to the central workers, on the workflow's own task queue.

        A cancel of the run waits for the step's activity to end (its heartbeat carries
        the cancel), so that no undo step runs while the step may still change the
        device. A forward step that ended anyway still ends the run as cancelled.
        """
        task_queue = workflow.info().task_queue if central else self.device_task_queue()
        self.activity_stage = stage or step.value
        try:
            result: ResultT = await workflow.execute_activity(
                activity,
                arg,
                result_type=result_type,
                task_queue=task_queue,
                schedule_to_start_timeout=self._edge_worker_wait(task_queue),
                # The Web UI labels undo steps, what someone reading a failed run looks
                # for; a forward step's type names it. Each summary costs every workflow
                # task that carries it (the SDK visits it three times through the
                # sandbox): about 2 ms of a happy run's CPU (docs/performance.md).
                summary=f"{self.activity_stage}: {activity}" if step is Step.ROLLBACK else None,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                **activity_options(policy or self._run.policy.for_step(step)),
            )
        except ActivityError:
            if self._cancel_unseen(step):
                raise asyncio.CancelledError("the run was cancelled while the step ran") from None
            raise
        if self._cancel_unseen(step):
            raise asyncio.CancelledError("the run was cancelled while the step ran")
        return result

    def _edge_worker_wait(self, task_queue: str) -> timedelta | None:
        """How long a step on `task_queue` may wait for a worker to take it: on an edge
        queue a task nobody takes must not hold the run forever (`_guarded` fails over);
        the central queue is served by the workers that run the workflow itself."""
        waits = self._run.policy.waits
        if task_queue == self._pinned_queue:
            return waits.pinned_worker_timeout  # only that gateway can take it
        if task_queue == edge_task_queue(self._run.request.device.site):
            return waits.site_worker_timeout  # any gateway of the site can
        return None

    async def perform(
        self,
        step: Step,
        contract: ActivityContract[ArgT, ResultT],
        arg: ArgT,
        *,
        central: bool = False,
        policy: StepPolicy | None = None,
        stage: str | None = None,
    ) -> ResultT:
        """`call` the activity of `contract`: its result type comes from the contract."""
        return await self.call(
            step, contract.name, arg, contract.result, central=central, policy=policy, stage=stage
        )

    def _cancel_unseen(self, step: Step) -> bool:
        """Whether the run was cancelled while a forward step's activity ran to its own
        end (success or failure): the cancel, not that outcome, decides the run."""
        return (
            step is not Step.ROLLBACK
            and not self._cancel_requested
            and workflow.cancellation_reason() is not None
        )

    def add_compensation(self, description: str, action: Callable[[], Awaitable[None]]) -> None:
        """Push an undo action; they run last-in first-out on failure or cancellation.

        Pushing one that is already pending does nothing: every undo action is
        idempotent and undoes its step for all the rounds of the attempt.
        """
        if any(c.description == description for c in self._compensations):
            return
        self._compensations.append(Compensation(description, action))

    def learned(self, **facts: str | None) -> None:
        """Keep what the run learned about the device for its registry record (field
        names of `domain.registry.DeviceFacts`; never a secret)."""
        self._facts.update({name: value for name, value in facts.items() if value})

    def report(self, message: str, **details: str) -> None:
        """Tell the people following the run what is happening, without a state change."""
        self._message = message
        self._updated_at = workflow.now()
        self._record_event(details)
        self._publish_details()

    async def wait_for_device_action(
        self,
        message: str,
        action: Awaitable[ResultT],
        resumed: str,
        *,
        error_code: Code | None = None,
        details: dict[str, str] | None = None,
    ) -> ResultT:
        """Show WAITING_FOR_DEVICE with `message` while `action` waits on the device.

        For steps where a person must act on the device (press its button, power it
        on in pairing mode) while an activity waits for it. A retry request abandons
        the wait and starts the run over; new (or forgotten) credentials abandon it and
        start the provisioning round again. Afterwards the run returns to the state it
        was in, with the message `resumed`. `error_code` shows why it waits again (a
        failed try the person may repeat); `details` go into the waiting event.
        """
        state, step = self._state, self._step
        self._transition(
            ProvisioningState.WAITING_FOR_DEVICE,
            step,
            message,
            error_code=error_code,
            details=details,
        )
        action_task = asyncio.ensure_future(action)
        retry_task = asyncio.ensure_future(
            workflow.wait_condition(lambda: self._retry_requested or self._round_restart)
        )
        try:
            await workflow.wait([action_task, retry_task], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # The run is cancelled: its rollback must not start while the device
            # step may still change the device.
            await self._abandon(action_task)
            raise
        finally:
            retry_task.cancel()
        # A request that came with the device's answer still wins: it was accepted.
        if self._retry_requested or self._round_restart:
            await self._abandon(action_task)
            if self._retry_requested:
                raise _RestartRequested()
            raise _RoundRestart()
        result: ResultT = action_task.result()
        self._transition(state, step, resumed)
        return result

    @staticmethod
    async def _abandon(task: asyncio.Future[Any]) -> None:
        """Cancel a step's task and wait until its activity has really ended.

        Its own outcome no longer matters; only a cancel of the run itself, arriving
        while this waits, is raised (`workflow.wait` raises no task's error).
        """
        task.cancel()
        await workflow.wait([task])
        if not task.cancelled():
            task.exception()

    # ------------------------------------------------------------------ the lifecycle

    async def run_lifecycle(self) -> ProvisionResult:
        """Claim the device, run attempts until success, a final failure or
        cancellation, and record the outcome in the registry."""
        self._registry_on = True
        self._reprovision = self._run.request.reprovision
        try:
            claimed = await self._claim_device()
            record = (
                self._check_reprovision(claimed)
                if self._reprovision is not ReprovisionPolicy.NEVER
                else None
            )
            if record is not None and self._reprovision is ReprovisionPolicy.RESET:
                await self._reset_first(record)
            while True:
                try:
                    if record is not None and self._reprovision is ReprovisionPolicy.MIGRATE:
                        message = await self._migrate_once(record)
                    else:
                        message = await self._attempt_once()
                except _RestartRequested:
                    await self._undo_attempt("retry requested")
                    self._retry_requested = False
                    self._start_new_attempt("starting over")
                    continue
                except _EdgeWorkerLost as lost:
                    self._pinned_queue = None
                    self._failovers += 1
                    if self._failovers > self._run.policy.waits.max_failovers:
                        raise StepFailure(
                            ErrorCode.EDGE_WORKER_LOST,
                            f"{lost.message}, after {self._failovers - 1} failover(s)",
                        ) from None
                    # Undo through any worker of the site: the pinned one is gone.
                    await self._undo_attempt(lost.message)
                    self._start_new_attempt(
                        f"{lost.message}; detecting the device again from any gateway of the site"
                    )
                    continue
                # The device stays as provisioned: nothing is undone from here on.
                self._compensations.clear()
                await self._record_outcome(Outcome.DONE, ProvisioningState.SUCCEEDED, None, message)
                self._transition(ProvisioningState.SUCCEEDED, Step.DONE, message)
                await self._handlers_finished()
                return self._result()
        except BaseException as error:
            if is_cancelled_exception(error):
                self._cancel_requested = True
                self._note("cancel requested: undoing what the run changed")
                await self._end_cancelled(await self._compensate("cancelled by request"))
                await self._handlers_finished()
                raise
            if isinstance(error, _CancelledDuringRollback):
                await self._end_cancelled(error.rollback)
                await self._handlers_finished()
                raise asyncio.CancelledError() from None
            if isinstance(error, StepFailure):
                failure = error
            elif isinstance(error, ActivityError):
                failure = failure_from(error)
            else:
                raise
        await self._end_failed(failure)
        raise AssertionError("unreachable")

    async def run_decommission(self) -> ProvisionResult:
        """Take the device out of service by the family's `decommission_plan`.

        Claim the device (from IN_SERVICE or FAILED), find it (and check it is the
        device of the record, where the family can tell), then undo what is in service
        step by step, check the device, and record the outcome. Until the first undo
        step a failure or a cancel changes nothing: the record goes back to the state
        it was claimed in. The undo steps run with the discipline of a rollback: each
        one to its end even when the run is cancelled meanwhile (a cancel is noted; a
        device is not left half in service by it), and a step that still fails after
        its retries — or what the check finds still in place — is a named leftover:
        the run ends FAILED with ROLLBACK_FAILED and the record FAILED.
        """
        plan = self.decommission_plan
        if plan is None:
            raise ApplicationError(
                f"strategy '{self.spec.name}' cannot decommission a device",
                type=ErrorCode.DECOMMISSION_UNSUPPORTED.value,
                non_retryable=True,
            )
        self._registry_on = True
        device_id = self.device.device_id
        try:
            record = await self._claim_device()
            assert record is not None
            for limit in plan.cannot_undo:
                self.report(f"what {self.spec.name} cannot undo: {limit}")
            found = await self._detect_until_present()
            if plan.confirms_identity:
                self._check_identity(found)
        except BaseException as error:
            if is_cancelled_exception(error):
                self._cancel_requested = True
                self._note("cancel requested: nothing was undone; the device stays in service")
                await self._end_cancelled(Rollback(undid_something=False))
                await self._handlers_finished()
                raise
            if isinstance(error, StepFailure):
                await self._end_failed(error)
            if isinstance(error, ActivityError):
                await self._end_failed(failure_from(error))
            raise
        done, leftovers = await self._undo_service(
            plan, record, f"taking device {device_id} out of service"
        )
        if leftovers:
            await self._end_failed(
                StepFailure(
                    ErrorCode.ROLLBACK_FAILED,
                    f"device {device_id} is not entirely out of service: not undone: "
                    + "; ".join(leftovers),
                )
            )
        message = f"device {device_id} is out of service ({done})"
        await self._record_outcome(Outcome.DONE, ProvisioningState.SUCCEEDED, None, message)
        self._transition(ProvisioningState.SUCCEEDED, Step.DONE, message)
        await self._handlers_finished()
        return self._result()

    def _check_identity(self, found: DetectedDevice) -> None:
        """PRE_CHECK: the device answering must be the run's device (else nothing is done
        to it: PRE_CHECK_FAILED)."""
        device_id = self.device.device_id
        self._transition(
            ProvisioningState.PRE_CHECK,
            Step.PRE_CHECK,
            f"checking that the device answering is {device_id}",
        )
        if found.device_id != device_id:
            self._reasons = [f"the device answering is '{found.device_id}'"]
            raise StepFailure(
                ErrorCode.PRE_CHECK_FAILED,
                f"the device answering is '{found.device_id}', not '{device_id}': "
                "nothing was done to it",
            )

    # ------------------------------------------------------------------ re-provisioning

    def _check_reprovision(self, record: DeviceRecord | None) -> DeviceRecord:
        """The claimed record of a re-provisioning run, once its policy is one the
        strategy supports (the API refuses others before a run starts)."""
        policy = self._reprovision
        if policy not in self.spec.reprovision or record is None:
            raise StepFailure(
                ErrorCode.REPROVISION_POLICY_UNSUPPORTED,
                f"strategy '{self.spec.name}' does not support re-provisioning policy "
                f"'{policy.value}'",
            )
        return record

    async def _reset_first(self, record: DeviceRecord) -> None:
        """The first phase of a `reset` re-provisioning: take the device out of service by
        the family's decommission plan (the same undo steps and check as a
        decommissioning run, run as compensations: each to its end), then let the
        provisioning phase start from a device in set-up mode.

        Raises:
            StepFailure: before the first undo step (device not found, another device):
                nothing was done, the record goes back to IN_SERVICE; ROLLBACK_FAILED when
                a step or the check left something in place (the record FAILED).
            _CancelledDuringRollback: a cancel arrived while it reset the device.
        """
        plan = self.decommission_plan
        device_id = self.device.device_id
        if plan is None:
            raise StepFailure(
                ErrorCode.REPROVISION_POLICY_UNSUPPORTED,
                f"strategy '{self.spec.name}' has no way to reset a device",
            )
        self.report(
            f"re-provisioning with reset: device {device_id} is taken out of service first, "
            "then provisioned",
            phase="reset",
        )
        for limit in plan.cannot_undo:
            self.report(f"what {self.spec.name} cannot undo: {limit}", phase="reset")
        while True:
            try:
                found = await self._detect_until_present()
                break
            except _RestartRequested:
                self._retry_requested = False
                self._start_new_attempt("starting over: looking for the device to reset")
        if plan.confirms_identity:
            self._check_identity(found)
        done, leftovers = await self._undo_service(
            plan, record, f"reset phase: taking device {device_id} out of service"
        )
        if leftovers:
            raise StepFailure(
                ErrorCode.ROLLBACK_FAILED,
                f"the reset of device {device_id} left something in place: "
                + "; ".join(leftovers)
                + "; it was not provisioned",
            )
        self._reset_done = True
        if self._cancel_requested:
            raise _CancelledDuringRollback(Rollback(undid_something=True))
        self.report(
            f"reset phase done ({done}); provisioning device {device_id} now",
            phase="provision",
        )

    async def _migrate_once(self, record: DeviceRecord) -> str:
        """One attempt of a `migrate` re-provisioning: find the device, check it is the
        device of the record, move it to the request's network (its current one kept as
        its fallback), confirm the join; the compensation returns it to its previous
        network. A move to another tenant alone changes nothing on the device."""
        device_id = self.device.device_id
        found = await self._detect_until_present()
        self._check_identity(found)
        previous = record.network_ssid
        moving_to = self._run.request.tenant
        if self._run.request.network is None and moving_to is not None:
            where = f" on its network '{previous}'" if previous else ""
            return f"device {device_id} moves to tenant '{moving_to}'{where}"
        if not previous:
            raise StepFailure(
                ErrorCode.PRE_CHECK_FAILED,
                f"the registry holds no network for device {device_id}: there is no network "
                "to migrate it from (use reprovision 'reset')",
            )
        self._round += 1
        network = await self._network_if_needed()
        if network is None:
            raise StepFailure(ErrorCode.INTERNAL_ERROR, "a migration needs a network")
        self._transition(
            ProvisioningState.PROVISIONING,
            Step.PROVISION,
            f"moving device {device_id} from '{previous}' to '{network.ssid}' "
            f"('{previous}' kept as its fallback)",
            details={"phase": "migrate"},
        )

        async def back_to_previous() -> None:
            await self.undo_migration(network, previous)

        # Pushed before the step, like every compensation: a write that timed out may
        # still have reached the device.
        self.add_compensation(
            f"device {device_id} back on its previous network '{previous}'", back_to_previous
        )
        await self._guarded(self.migrate(network, previous))
        self._transition(
            ProvisioningState.CONFIRMING,
            Step.CONFIRM,
            f"waiting for device {device_id} to join '{network.ssid}' (it falls back to "
            f"'{previous}' if it cannot)",
        )
        return await self._guarded(self.confirm_migration(network, previous))

    async def _undo_service(
        self, plan: DecommissionPlan, record: DeviceRecord, why: str
    ) -> tuple[str, list[str]]:
        """Undo what `record` shows in service by `plan` (a decommissioning run, or the
        reset phase of a re-provisioning one): its steps pushed as compensations and run
        by `_compensate` — each to its end, a cancel noted — then its check of the device.

        Returns what was undone (for people) and what is left in place (named).
        """
        target = DecommissionTarget(
            record=record,
            device=self.device,
            tenant=self._run.tenant,
            idempotency_key=self.idempotency_key,
        )
        steps = [step for step in plan.steps if step.applies(record)]
        for step in reversed(steps):  # the stack runs last-in first-out
            self.add_compensation(step.description, self._undo_step(step, target))
        rollback = await self._compensate(why)
        leftovers = list(rollback.leftovers)
        if not leftovers and plan.check is not None:
            leftovers = await self._check_out_of_service(plan.check, target)
        done = ", ".join(step.description for step in steps) or "nothing was in service"
        return done, leftovers

    def _undo_step(
        self, step: UndoStep[Any, Any], target: DecommissionTarget
    ) -> Callable[[], Awaitable[None]]:
        async def undo() -> None:
            self.report(f"undoing: {step.description}")
            await self.perform(
                Step.ROLLBACK, step.contract, step.argument(target), central=step.central
            )
            self.report(f"undone: {step.description}")

        return undo

    async def _check_out_of_service(
        self, check: ServiceCheck, target: DecommissionTarget
    ) -> list[str]:
        """What `check` finds still in place on the device (each one reported), run to
        its end like an undo step."""
        self.report(f"checking: {check.description}")
        remains: list[str] = []

        async def look() -> None:
            try:
                found = await self.perform(Step.ROLLBACK, check.contract, check.argument(target))
            except ActivityError as error:
                failure = failure_from(error)
                remains.append(f"{check.description} (the device did not say: {failure.code})")
                return
            remains.extend(check.remains(found))

        await self._shielded(look, "cancel requested while taking the device out of service")
        for remain in remains:
            self.report(f"not undone: {remain}")
        self._leftovers.extend(remains)
        return remains

    async def _undo_attempt(self, why: str) -> None:
        """Roll the attempt back before another one starts.

        Raises:
            _CancelledDuringRollback: a cancel arrived while it rolled back.
            StepFailure: an undo step could not be done (ROLLBACK_FAILED): another
                attempt would start from a device in an unknown state.
        """
        rollback = await self._compensate(why)
        if self._cancel_requested:
            raise _CancelledDuringRollback(rollback)
        if not rollback.complete:
            raise StepFailure(
                ErrorCode.ROLLBACK_FAILED,
                f"{why}, but the rollback failed: {_undone(rollback)}; the run stops here",
            )

    def _start_new_attempt(self, why: str) -> None:
        self._attempt += 1
        self._round = 0
        self._transition(ProvisioningState.PENDING, Step.START, f"attempt {self._attempt}: {why}")

    async def _attempt_once(self) -> str:
        found = await self._detect_until_present()

        self._transition(
            ProvisioningState.PRE_CHECK,
            Step.PRE_CHECK,
            f"checking device {found.device_id} (model {found.model or '?'}, "
            f"firmware {found.firmware or '?'})",
        )
        verdict = await self._guarded(self.pre_check(found))
        if not verdict.passed:
            self._reasons = list(verdict.reasons)
            raise StepFailure(
                ErrorCode.PRE_CHECK_FAILED,
                "pre-check rejected the device: " + "; ".join(verdict.reasons),
            )
        if self._registry_on and self._run.pre_provisioning_hook:
            await self._ask_pre_provisioning_hook(found)

        while True:
            self._round += 1
            network = await self._network_if_needed()
            self._transition(
                ProvisioningState.PROVISIONING,
                Step.PROVISION,
                f"configuring the device for network '{network.ssid}'"
                if network
                else "configuring the device",
            )
            # Pushed before the step: an activity that timed out may still have
            # changed the device, and every undo action is idempotent.
            self.add_compensation("undo provision", self.undo_provision)
            try:
                await self._guarded(self.provision(network))
                self._transition(
                    ProvisioningState.CONFIRMING,
                    Step.CONFIRM,
                    f"waiting for the device to join '{network.ssid}'"
                    if network
                    else "confirming the device works",
                )
                return await self._guarded(self.confirm(network))
            except _CredentialsRejected as rejected:
                self._network = None
                self._error_code = ErrorCode.CREDENTIALS_REJECTED
                self._message = rejected.message
            except _RoundRestart:
                self._round_restart = False
                self._error_code = None

    async def _ask_pre_provisioning_hook(self, found: DetectedDevice) -> None:
        """PRE_CHECK: the tenant's hook allows the device, or the run ends before
        anything is done to it (HOOK_DENIED; HOOK_UNAVAILABLE once its retries are spent:
        it fails closed). Its parameters are kept for the steps (`hook_parameters`)."""
        info = workflow.info()
        device = self.device
        call = HookCall(
            tenant=self._run.tenant,
            call_id=f"hook_{workflow.uuid4().hex}",
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            strategy=self._run.strategy,
            attempt=self._attempt,
            device_id=device.device_id,
            device_type=device.type,
            vendor=device.vendor,
            model=device.model,
            site=device.site,
            capabilities=sorted(device.capabilities),
            detected_model=found.model,
            detected_firmware=found.firmware,
        )
        try:
            verdict: HookVerdict = await self.perform(
                Step.PRE_CHECK, HookActivity.CALL, call, central=True, stage=HOOK_STAGE
            )
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            failure = failure_from(error)
            raise StepFailure(
                ErrorCode.HOOK_UNAVAILABLE,
                f"the pre-provisioning hook gave no verdict: {failure.message}",
            ) from None
        if not verdict.allow:
            reason = verdict.reason or "no reason given"
            self._reasons = [f"pre-provisioning hook: {reason}"]
            raise StepFailure(
                ErrorCode.HOOK_DENIED, f"the pre-provisioning hook denied the device: {reason}"
            )
        self._hook_parameters = dict(verdict.parameters)
        if verdict.consulted:
            self.report("the pre-provisioning hook allowed the device")

    @property
    def hook_parameters(self) -> dict[str, str]:
        """What the tenant's pre-provisioning hook answered with its allow (empty
        without a hook); in the history only encrypted, like every payload."""
        return dict(self._hook_parameters)

    async def _guarded(self, awaitable: Awaitable[ResultT]) -> ResultT:
        """Await a step, sorting its failures into the lifecycle's outcomes."""
        try:
            return await awaitable
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            failure = failure_from(error)
            if failure.code is ErrorCode.CREDENTIALS_REJECTED:
                raise _CredentialsRejected(failure.message) from None
            if failure.code is ErrorCode.EDGE_WORKER_LOST:
                raise self._edge_worker_lost() from None
            raise failure from None

    def _edge_worker_lost(self) -> _EdgeWorkerLost:
        """What a device step that no edge worker took in time means for the run."""
        waits = self._run.policy.waits
        queue = self.device_task_queue()
        if queue == self._pinned_queue:
            return _EdgeWorkerLost(
                queue,
                f"edge worker {queue} stopped answering: it did not take the step within "
                f"{waits.pinned_worker_timeout}",
            )
        return _EdgeWorkerLost(
            queue,
            f"no edge worker of site {self._run.request.device.site} took the step "
            f"(task queue {queue}) within {waits.site_worker_timeout}",
        )

    async def _detect_until_present(self) -> DetectedDevice:
        waits = self._run.policy.waits
        deadline = workflow.now() + waits.device_wait
        device_id = self._run.device_id
        self._transition(
            ProvisioningState.DETECTING,
            Step.DETECT,
            f"looking for device {device_id} on site {self._run.request.device.site}",
        )
        while True:
            try:
                found = await self._guarded(self.detect())
            except StepFailure as failure:
                if failure.code not in _DEVICE_ABSENT:
                    raise
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise StepFailure(
                        ErrorCode.DEVICE_WAIT_TIMEOUT,
                        f"device {device_id} did not show up within {waits.device_wait}: "
                        f"{failure.message}",
                    ) from None
                if self._state is not ProvisioningState.WAITING_FOR_DEVICE:
                    self._transition(
                        ProvisioningState.WAITING_FOR_DEVICE,
                        Step.DETECT,
                        f"device {device_id} is not reachable yet; "
                        + (
                            "put it in set-up mode"
                            if self._run.kind is RunKind.PROVISION
                            and self._reprovision is ReprovisionPolicy.NEVER
                            else "power it on"
                        )
                        + f" near a gateway of site {self._run.request.device.site}. "
                        f"Trying again every {waits.device_poll_interval} for up to "
                        f"{waits.device_wait}",
                        error_code=str(failure.code),
                    )
                await self._sleep_unless_retry(min(waits.device_poll_interval, remaining))
                continue
            if self._state is ProvisioningState.WAITING_FOR_DEVICE:
                self._transition(
                    ProvisioningState.DETECTING, Step.DETECT, f"device {device_id} found"
                )
            if found.task_queue:
                self._pinned_queue = found.task_queue
                self.report(
                    f"device {device_id} found by edge worker {found.task_queue}; "
                    "its next steps run there",
                    task_queue=found.task_queue,
                )
            return found

    async def _sleep_unless_retry(self, duration: timedelta) -> None:
        try:
            await workflow.wait_condition(lambda: self._retry_requested, timeout=duration)
        except TimeoutError:
            return
        raise _RestartRequested()

    async def _network_if_needed(self) -> NetworkCredentials | None:
        if not self.takes_network_credentials():
            return None
        if self._network is not None:
            return self._network
        wait = self._run.policy.waits.network_wait
        rejected = self._error_code is ErrorCode.CREDENTIALS_REJECTED
        self._transition(
            ProvisioningState.PENDING_NETWORK,
            Step.AWAIT_NETWORK,
            (
                f"{self._message}. Send other credentials to try again"
                if rejected
                else "waiting for network credentials"
            ),
            error_code=self._error_code if rejected else None,
        )
        try:
            await workflow.wait_condition(
                lambda: self._network is not None or self._retry_requested, timeout=wait
            )
        except TimeoutError:
            raise StepFailure(
                ErrorCode.NETWORK_WAIT_TIMEOUT,
                f"no network credentials arrived within {wait}",
            ) from None
        if self._retry_requested:
            raise _RestartRequested()
        self._error_code = None
        return self._network

    # ------------------------------------------------------------------ endings

    async def _compensate(self, why: str) -> Rollback:
        """Run the pushed compensations in reverse, each to its end.

        A cancel that arrives meanwhile does not interrupt an undo step: it is noted
        (`_cancel_requested`) and the rollback goes on. An undo step that still fails
        after its retries is named in the run's leftovers; none is ever dropped unrun.
        """
        if not self._compensations:
            return Rollback(undid_something=False)
        self._transition(ProvisioningState.ROLLING_BACK, Step.ROLLBACK, f"rolling back: {why}")
        leftovers: list[str] = []
        while self._compensations:
            compensation = self._compensations[-1]
            try:
                await self._shielded(compensation.action)
            except ActivityError as error:
                failure = failure_from(error)
                leftovers.append(compensation.description)
                self.report(
                    f"compensation '{compensation.description}' failed: {failure.message}",
                    error_code=str(failure.code),
                )
            self._compensations.pop()
        self._leftovers.extend(leftovers)
        return Rollback(undid_something=True, leftovers=tuple(leftovers))

    async def _shielded(
        self,
        action: Callable[[], Awaitable[None]],
        note: str = "cancel requested while rolling back: the rollback finishes first",
    ) -> None:
        """Run `action` to its end even if the run is cancelled meanwhile."""
        task = asyncio.ensure_future(action())
        while True:
            try:
                await asyncio.shield(task)
                return
            except asyncio.CancelledError:
                if not self._cancel_requested:
                    self._cancel_requested = True
                    self._note(note)
                if task.done():
                    # It ended with the cancel: its own outcome (or failure) stands.
                    task.result()
                    return

    # ------------------------------------------------------------------ the registry

    async def _claim_device(self) -> DeviceRecord | None:
        """Make this run the device's owner in the registry: its first activity. Returns
        the device's record as claimed (None for a run without registry steps).

        Raises:
            StepFailure: DEVICE_BUSY when another run owns the device or its state
                (or its tenant) allows this run no claim; nothing was done to the device.
        """
        if not self._registry_on:
            return None
        info = workflow.info()
        device = self.device
        claim = DeviceClaim(
            device_id=device.device_id,
            tenant=self._run.tenant,
            kind=self._run.kind,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            strategy=self._run.strategy,
            vendor=device.vendor,
            model=device.model or "",
            site=device.site,
            device_type=device.type,
            transport_hints=device.transport_hints,
            reprovision=self._reprovision is not ReprovisionPolicy.NEVER,
        )
        try:
            return await self.perform(
                Step.START,
                DeviceRecordActivity.CLAIM,
                claim,
                central=True,
                policy=REGISTRY_STEP_POLICY,
                stage=REGISTRY_STAGE,
            )
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            failure = failure_from(error)
            self._claim_lost = failure.code is ErrorCode.DEVICE_BUSY
            raise failure from None

    async def _record_outcome(
        self,
        outcome: Outcome,
        state: ProvisioningState,
        error_code: Code | None,
        message: str,
    ) -> None:
        """Record how the run leaves the device, and the terminal `state` it is about to
        enter, in its webhook event: its last activity, run to its end even when the run
        is cancelled meanwhile. For a run that lost its claim, the event alone."""
        if not self._registry_on:
            return
        network = self._network.ssid if self._network is not None else None
        if self._reprovision is ReprovisionPolicy.MIGRATE and outcome is not Outcome.DONE:
            network = None  # a failed move: the record keeps the network it had
        facts = DeviceFacts.model_validate(
            {"network_ssid": network if self.spec.requires_network else None, **self._facts}
        )
        moving_to = self._run.request.tenant
        record = RunOutcome(
            device_id=self.device.device_id,
            run_id=workflow.info().run_id,
            outcome=outcome,
            facts=facts,
            reset=self._reset_done,
            tenant=moving_to if self._reprovision is ReprovisionPolicy.MIGRATE else None,
            event=self._terminal_event(state, error_code, message, facts),
            state_event=(
                self._state_event(self._state, state, Step.DONE, error_code, message)
                if self._sends_state_events
                else None
            ),
        )

        async def write() -> None:
            publisher = self._state_events_publisher
            if publisher is not None and not publisher.done():
                # The outcome's events come after the run's earlier ones, in each lane.
                await workflow.wait([publisher])
            self.activity_stage = REGISTRY_STAGE
            await workflow.execute_activity(
                DeviceRecordActivity.RECORD_OUTCOME.name,
                record,
                task_queue=workflow.info().task_queue,
                **activity_options(REGISTRY_STEP_POLICY),
            )

        await self._shielded(write, "cancel requested while the outcome is recorded")

    def _terminal_event(
        self,
        state: ProvisioningState,
        error_code: Code | None,
        message: str,
        facts: DeviceFacts,
    ) -> WebhookEvent:
        """The webhook event of the run's end (its id is deterministic on replay)."""
        now = workflow.now()
        data = RunEventData(
            **self._event_run_fields(),
            state=state,
            error_code=str(error_code) if error_code is not None else None,
            message=message,
            network_ssid=facts.network_ssid,
            ended_at=now,
        )
        return self._webhook_event(run_event_type(self._run.kind.value, state), now, data)

    def _event_run_fields(self) -> dict[str, Any]:
        """What every run event tells of the run and its device."""
        info = workflow.info()
        device = self.device
        started_by = self._run.started_by
        return {
            "device_id": device.device_id,
            "kind": self._run.kind.value,
            "workflow_id": info.workflow_id,
            "run_id": info.run_id,
            "strategy": self._run.strategy,
            "site": device.site,
            "vendor": device.vendor,
            "started_by": started_by,
            "fleet_id": (
                started_by.removeprefix("fleet:") if started_by.startswith("fleet:") else None
            ),
            "started_at": info.start_time,
        }

    def _webhook_event(
        self, event_type: EventType, now: datetime, data: RunEventData | RunStateData
    ) -> WebhookEvent:
        """A run event in the device's lane (its id is deterministic on replay)."""
        return WebhookEvent(
            event_id=f"evt_{workflow.uuid4().hex}",
            tenant=self._run.tenant,
            type=event_type,
            lane=f"device:{self.device.device_id}",
            occurred_at=now,
            data=data.model_dump(mode="json"),
        )

    @property
    def _sends_state_events(self) -> bool:
        return self._registry_on and self._run.state_events

    def _state_event(
        self,
        previous: ProvisioningState,
        state: ProvisioningState,
        step: Step,
        error_code: str | None,
        message: str,
    ) -> WebhookEvent:
        """A `run.state_changed` event (its id is deterministic on replay)."""
        now = workflow.now()
        data = RunStateData(
            **self._event_run_fields(),
            state=state,
            previous_state=previous,
            step=step.value,
            attempt=self._attempt,
            awaiting=[] if state.is_terminal else self._awaiting(),
            error_code=str(error_code) if error_code is not None else None,
            message=message,
            changed_at=now,
        )
        return self._webhook_event(EventType.RUN_STATE_CHANGED, now, data)

    def _send_state_changed(self, previous: ProvisioningState) -> None:
        """Queue `run.state_changed` for the state just entered. One task writes the
        queue to the outbox, a batch per activity, each after the one before, so that
        events reach the outbox (and their receivers) in the order of the changes, and
        the run's human waits never wait for the outbox."""
        self._state_events.append(
            self._state_event(previous, self._state, self._step, self._error_code, self._message)
        )
        publisher = self._state_events_publisher
        if publisher is None or publisher.done():
            self._state_events_publisher = asyncio.ensure_future(self._publish_state_events())

    async def _publish_state_events(self) -> None:
        while self._state_events:
            batch, self._state_events = self._state_events, []
            try:
                self.activity_stage = WEBHOOK_STAGE
                await workflow.execute_activity(
                    WebhookActivity.PUBLISH_BATCH.name,
                    WebhookEventBatch(events=batch),
                    task_queue=workflow.info().task_queue,
                    **activity_options(WEBHOOK_STEP_POLICY),
                )
            except ActivityError as error:
                # Retried until the database answers: only a defect gets here. The
                # events are lost; the run goes on.
                workflow.logger.warning(
                    "run.state_changed events not written: %s", failure_from(error).message
                )

    async def _end_failed(self, failure: StepFailure) -> None:
        rollback = await self._compensate(failure.message)
        code, message = failure.code, failure.message
        state = ProvisioningState.FAILED
        if not rollback.complete:
            code = ErrorCode.ROLLBACK_FAILED
            message = f"{failure.message}; the rollback failed: {_undone(rollback)}"
        elif code in (ErrorCode.PRE_CHECK_FAILED, ErrorCode.HOOK_DENIED) or (
            # No patch needed: no family declared validation codes before this line, so
            # no recorded run took this branch.
            code in self.spec.validation_codes and not rollback.undid_something
        ):
            state = ProvisioningState.FAILED_VALIDATION
        elif rollback.undid_something and code is not ErrorCode.ROLLBACK_FAILED:
            state = ProvisioningState.ROLLED_BACK
        await self._record_outcome(
            Outcome.LEFTOVERS if code is ErrorCode.ROLLBACK_FAILED else Outcome.UNDONE,
            state,
            code,
            message,
        )
        self._transition(state, Step.DONE, message, error_code=code, details=failure.details)
        await self._handlers_finished()
        raise ApplicationError(
            message,
            self._result().model_dump(mode="json"),
            type=str(code),
            non_retryable=True,
        )

    async def _end_cancelled(self, rollback: Rollback) -> None:
        if not rollback.complete:
            state, code = ProvisioningState.FAILED, ErrorCode.ROLLBACK_FAILED
            message = f"cancelled by request; the rollback failed: {_undone(rollback)}"
        elif rollback.undid_something:
            state, code = ProvisioningState.ROLLED_BACK, ErrorCode.CANCELLED_BY_USER
            message = "cancelled by request; the device was rolled back"
        else:
            state, code = ProvisioningState.CANCELLED, ErrorCode.CANCELLED_BY_USER
            message = "cancelled by request before the device was changed"
        await self._record_outcome(
            Outcome.UNDONE if rollback.complete else Outcome.LEFTOVERS, state, code, message
        )
        self._transition(state, Step.DONE, message, error_code=code)

    async def _handlers_finished(self) -> None:
        """Let running update handlers return before the run ends.

        The run has reached its final state: a cancel that arrives now changes nothing.
        """
        try:
            await workflow.wait_condition(workflow.all_handlers_finished)
        except asyncio.CancelledError:
            self._cancel_requested = True
            await workflow.wait_condition(workflow.all_handlers_finished)

    # ------------------------------------------------------------------ operator actions

    def _device_step_waits(self) -> bool:
        """Whether the provision step waits on the device with credentials chosen."""
        return self._state is ProvisioningState.WAITING_FOR_DEVICE and self._step is Step.PROVISION

    async def _restart_round(self) -> None:
        """Abandon the device step and provision again with the credentials now held."""
        self._round_restart = True
        await workflow.wait_condition(lambda: not self._round_restart or self._state.is_terminal)

    def _note(self, message: str, **details: str) -> None:
        """Record an event (an operator action and what it does) without changing the
        run's current message, which may be a prompt a person still has to follow."""
        current = self._message
        self._message = message
        self._updated_at = workflow.now()
        self._record_event(details)
        self._message = current

    # ------------------------------------------------------------------ bookkeeping

    def _awaiting(self) -> list[str]:
        if self._state is ProvisioningState.PENDING_NETWORK:
            return ["credentials", "retry"]
        if self._state is ProvisioningState.WAITING_FOR_DEVICE:
            return ["device", "retry"]
        return []

    def _transition(
        self,
        state: ProvisioningState,
        step: Step,
        message: str,
        *,
        error_code: Code | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        previous = self._state
        self._state = state
        self._step = step
        self._message = message
        self._error_code = error_code
        self._updated_at = workflow.now()
        self._record_event(details or {})
        self._publish_details()
        self._observe_state()
        self._record_visibility(state, error_code)
        if self._sends_state_events and sends_state_changed(previous, state):
            self._send_state_changed(previous)

    def _record_visibility(self, state: ProvisioningState, error_code: Code | None) -> None:
        """Write the state to visibility when what visibility shows changes: the states
        people act on or filter by, IN_PROGRESS otherwise (`VisibleState`). A happy run
        writes once, when it ends. What visibility shows is read from the run's start
        attributes once, then kept here as it is written."""
        if self._shown_in_visibility is None:
            attributes = workflow.info().typed_search_attributes
            # only runs started with devprov's attributes have them registered
            self._records_visibility = attributes.get(sa.DEVICE_ID) is not None
            self._shown_in_visibility = (
                attributes.get(sa.PROVISIONING_STATE),
                attributes.get(sa.ERROR_CODE),
            )
        if not self._records_visibility:
            return
        visible_state = VisibleState.of(state).value
        code = str(error_code) if error_code is not None else None
        if self._shown_in_visibility == (visible_state, code):
            return
        self._shown_in_visibility = (visible_state, code)
        workflow.upsert_search_attributes(
            [
                sa.PROVISIONING_STATE.value_set(visible_state),
                sa.ERROR_CODE.value_set(code) if code is not None else sa.ERROR_CODE.value_unset(),
            ]
        )

    def _observe_state(self) -> None:
        """Hand the state change to the state observers (`observe_states`)."""
        if not _state_observers or workflow.unsafe.is_replaying():
            return
        device = self._run.request.device
        info = workflow.info()
        fields = {
            "workflow_id": info.workflow_id,
            "run_id": info.run_id,
            "device_id": device.device_id,
            "strategy": self._run.strategy,
            "vendor": device.vendor,
            "site": device.site,
            "started_by": self._run.started_by,
            "run_kind": self._run.kind.value,
            "state": self._state.value,
            "step": self._step.value,
            "attempt": self._attempt,
            "error_code": str(self._error_code) if self._error_code else None,
            "message": self._message,
        }
        for observer in _state_observers:
            try:
                observer(fields)
            except Exception:
                observer_failures.exception("a state observer failed on %s", info.workflow_id)

    def _publish_details(self) -> None:
        """The run's story so far, as the Web UI shows it ("current details")."""
        lines = [
            f"**{self._state.value}** · step `{self._step.value}` · attempt {self._attempt}",
            "",
            self._message,
        ]
        if self._error_code is not None:
            lines += ["", f"error code: `{self._error_code}`"]
        if self._pinned_queue is not None:
            lines += ["", f"edge worker: `{self._pinned_queue}`"]
        if self._reasons:
            lines += ["", *(f"- {reason}" for reason in self._reasons)]
        workflow.set_current_details("\n".join(lines))

    def _record_event(self, details: dict[str, str]) -> None:
        self._sequence += 1
        self._events.append(
            ProgressEvent(
                sequence=self._sequence,
                state=self._state,
                step=self._step,
                message=self._message,
                updated_at=self._updated_at,
                attempt=self._attempt,
                error_code=self._error_code,
                details=details,
            )
        )
        if len(self._events) > MAX_EVENTS:
            del self._events[0]

    def _result(self) -> ProvisionResult:
        snapshot = self.progress()
        return ProvisionResult.model_validate(
            snapshot.model_dump(include=set(ProvisionResult.model_fields) - {"details"})
        )
