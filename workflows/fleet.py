"""Fleet provisioning: one child run per device, with bounded concurrency.

The fleet starts each device's own strategy workflow as a child (workflow id
`provision-<device>`, so every device stays visible and searchable on its own), never
more at once than its limits allow per site, per vendor and overall. Its history stays
bounded: after `FleetRun.generation_size` children (about 4 history events each) it
stops starting new ones, lets the running ones finish, and continues as new with what
is left.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter, deque

from temporalio import workflow
from temporalio.exceptions import (
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
    is_cancelled_exception,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.errors import ErrorCode
    from domain.fleet import (
        FLEET_PROGRESS_QUERY,
        FLEET_RETRY_FAILED_UPDATE,
        FLEET_SKIP_UPDATE,
        MAX_LISTED_FAILURES,
        DeviceOutcome,
        FleetFailure,
        FleetMember,
        FleetResult,
        FleetRun,
        FleetSnapshot,
        FleetState,
        bounded_message,
    )
    from domain.progress import ProvisionResult
    from domain.run import ProvisionRun, workflow_id_for
    from domain.webhooks import EventType, FleetEventData, WebhookEvent
    from strategies.device_records import WEBHOOK_STEP_POLICY, WebhookActivity
    from workflows import search_attributes as sa
    from workflows.activity_options import activity_options


def _failure_of(member: FleetMember, error: BaseException, attempt: int) -> FleetFailure:
    cause: BaseException | None = error
    while isinstance(cause, ChildWorkflowError | ApplicationError) and cause.cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            break
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return FleetFailure(
            device_id=member.device.device_id,
            error_code=ErrorCode.from_type(cause.type),
            message=bounded_message(cause.message),
            attempt=attempt,
        )
    return FleetFailure(
        device_id=member.device.device_id,
        error_code=ErrorCode.INTERNAL_ERROR,
        message=bounded_message(str(error) or type(error).__name__),
        attempt=attempt,
    )


CHILD_STARTS_PER_ACTIVATION = 25
"""Children one workflow task starts at most. Preparing a child's input takes tens of
microseconds alone, but a busy worker runs many workflow tasks in threads that share one
interpreter lock: 200 starts in one task once passed the SDK's two-second deadlock
detector, and the run was stuck. The next batch waits for this one's starts."""


@workflow.defn(name="FleetProvisioning")
class FleetProvisioningWorkflow:
    """Provision every device of a fleet through its own child run."""

    @workflow.init
    def __init__(self, run: FleetRun) -> None:
        self._run = run
        self._queue: deque[FleetMember] = deque(run.queue)
        self._tally = run.tally.model_copy(deep=True)
        self._running: dict[str, FleetMember] = {}
        self._attempts: Counter[str] = Counter()
        self._state = FleetState.RUNNING
        self._started_this_generation = 0
        self._starting = 0
        """Children asked for whose start Temporal has not confirmed yet."""
        self._updated_at = workflow.now()

    @workflow.run
    async def run(self, run: FleetRun) -> FleetResult:
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                while self._queue or tasks:
                    started_now = 0
                    while self._queue and self._started_this_generation < run.generation_size:
                        if started_now >= CHILD_STARTS_PER_ACTIVATION:
                            break
                        member = self._next_startable()
                        if member is None:
                            break
                        task = asyncio.create_task(self._run_child(member))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                        self._started_this_generation += 1
                        started_now += 1
                    if started_now >= CHILD_STARTS_PER_ACTIVATION:
                        await self._until_children_started_or_one_ends(tasks)
                        continue
                    await self._until_a_child_ends(tasks)
                    if self._queue and not tasks and self._rolls_over():
                        await workflow.wait_condition(workflow.all_handlers_finished)
                        workflow.continue_as_new(self._carry_over())
                # Out of work: tell the subscribers (`fleet.finished`) while still
                # RUNNING, so that the fleet is closed once its progress says COMPLETED;
                # a retry that arrives meanwhile is served by going round again.
                await self._publish_finished(FleetState.COMPLETED)
                if not self._queue:
                    break
        except BaseException as error:
            if not is_cancelled_exception(error):
                raise
            self._state = FleetState.CANCELLING
            self._touch()
            # Cancelling a child's task asks Temporal to cancel that child; each device
            # run then rolls itself back. Wait for all of them before the fleet ends.
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tally.cancelled += len(self._queue)
            self._queue.clear()
            await self._publish_finished(FleetState.CANCELLED)
            self._state = FleetState.CANCELLED
            self._touch()
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise
        self._state = FleetState.COMPLETED
        self._touch()
        await workflow.wait_condition(workflow.all_handlers_finished)
        failures = self._tally.failures
        return FleetResult(
            fleet_id=run.fleet_id,
            total=run.total,
            succeeded=self._tally.succeeded,
            cancelled=self._tally.cancelled,
            skipped=self._tally.skipped,
            failed=failures.count,
            failures_by_code=failures.counts_by_code(),
            failures=failures.recent,
            to_retry=failures,
        )

    async def _publish_finished(self, state: FleetState) -> None:
        """Send `fleet.finished` (ending in `state`) to the tenant's subscribers, through
        the outbox."""
        info = workflow.info()
        now = workflow.now()
        failures = self._tally.failures
        data = FleetEventData(
            fleet_id=self._run.fleet_id,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            state=state.value,
            total=self._run.total,
            succeeded=self._tally.succeeded,
            failed=failures.count,
            cancelled=self._tally.cancelled,
            skipped=self._tally.skipped,
            failures_by_code=failures.counts_by_code(),
            ended_at=now,
        )
        event = WebhookEvent(
            event_id=f"evt_{workflow.uuid4().hex}",
            tenant=self._run.tenant,
            type=EventType.FLEET_FINISHED,
            lane=f"fleet:{self._run.fleet_id}",
            occurred_at=now,
            data=data.model_dump(mode="json"),
        )
        await workflow.execute_activity(
            WebhookActivity.PUBLISH.name,
            event,
            task_queue=info.task_queue,
            summary="webhooks: fleet.finished",
            **activity_options(WEBHOOK_STEP_POLICY),
        )

    async def _until_children_started_or_one_ends(self, tasks: set[asyncio.Task[None]]) -> None:
        """Wait for the children just asked for to start, so that the next batch is
        started in a later workflow task."""
        in_flight = len(tasks)
        await workflow.wait_condition(lambda: self._starting == 0 or len(tasks) < in_flight)

    async def _until_a_child_ends(self, tasks: set[asyncio.Task[None]]) -> None:
        in_flight = len(tasks)
        await workflow.wait_condition(
            lambda: len(tasks) < in_flight or bool(self._queue and not tasks)
        )

    # ------------------------------------------------------------------ handlers

    @workflow.query(name=FLEET_PROGRESS_QUERY)
    def progress(self) -> FleetSnapshot:
        """Counts per outcome, failures by code, in-flight runs per site."""
        failures = self._tally.failures
        counts = {
            DeviceOutcome.QUEUED: len(self._queue),
            DeviceOutcome.RUNNING: len(self._running),
            DeviceOutcome.SUCCEEDED: self._tally.succeeded,
            DeviceOutcome.FAILED: failures.count,
            DeviceOutcome.CANCELLED: self._tally.cancelled,
            DeviceOutcome.SKIPPED: self._tally.skipped,
        }
        return FleetSnapshot(
            fleet_id=self._run.fleet_id,
            state=self._state,
            total=self._run.total,
            counts=counts,
            failures_by_code=failures.counts_by_code(),
            failures=failures.recent[-MAX_LISTED_FAILURES:],
            in_flight_by_site=dict(Counter(self._site(m) for m in self._running.values())),
            generation=self._tally.generation,
            sequence=self._tally.sequence,
            updated_at=self._updated_at,
        )

    @workflow.update(name=FLEET_RETRY_FAILED_UPDATE)
    def retry_failed(self, device_ids: list[str]) -> FleetSnapshot:
        """Queue the failed devices again (all of them when `device_ids` is empty)."""
        self._queue.extend(self._tally.failures.take(device_ids))
        self._touch()
        return self.progress()

    @retry_failed.validator
    def _validate_retry(self, device_ids: list[str]) -> None:
        if self._state is not FleetState.RUNNING:
            raise ApplicationError(
                f"the fleet is {self._state.value}", type=ErrorCode.RUN_NOT_WAITING.value
            )
        unknown = sorted(set(device_ids) - self._tally.failures.device_ids())
        if unknown:
            raise ApplicationError(
                f"not failed in this fleet run: {', '.join(unknown[:20])}",
                type=ErrorCode.INVALID_REQUEST.value,
            )

    @workflow.update(name=FLEET_SKIP_UPDATE)
    def skip(self, device_ids: list[str]) -> FleetSnapshot:
        """Do not start the listed queued devices."""
        wanted = set(device_ids)
        before = len(self._queue)
        self._queue = deque(m for m in self._queue if m.device.device_id not in wanted)
        self._tally.skipped += before - len(self._queue)
        self._touch()
        return self.progress()

    @skip.validator
    def _validate_skip(self, device_ids: list[str]) -> None:
        queued = {m.device.device_id for m in self._queue}
        not_queued = sorted(set(device_ids) - queued)
        if not device_ids or not_queued:
            raise ApplicationError(
                "only queued devices can be skipped; not queued: "
                + (", ".join(not_queued[:20]) or "(none given)"),
                type=ErrorCode.INVALID_REQUEST.value,
            )

    # ------------------------------------------------------------------ children

    def _site(self, member: FleetMember) -> str:
        return member.device.site or self._run.template.site

    def _next_startable(self) -> FleetMember | None:
        """The first queued device whose site and vendor still have room."""
        limits = self._run.limits
        if len(self._running) >= limits.max_in_flight:
            return None
        # One fleet has one vendor (the template's), so the vendor bound is a total.
        if len(self._running) >= limits.per_vendor:
            return None
        per_site = Counter(self._site(m) for m in self._running.values())
        for index, member in enumerate(self._queue):
            if per_site[self._site(member)] < limits.per_site:
                del self._queue[index]
                # Counted as running from now on, before its task first runs.
                self._running[member.device.device_id] = member
                self._attempts[member.device.device_id] += 1
                return member
        return None

    async def _run_child(self, member: FleetMember) -> None:
        device_id = member.device.device_id
        attempt = self._attempts[device_id]
        self._touch()
        strategy = self._run.strategies[member.strategy]
        child_run = ProvisionRun(
            request=self._run.request_for(member),
            strategy=member.strategy,
            policy=strategy.policy,
            started_by=f"fleet:{self._run.fleet_id}",
            tenant=self._run.tenant,
            pre_provisioning_hook=self._run.pre_provisioning_hook,
            state_events=self._run.state_events,
        )
        try:
            self._starting += 1
            try:
                child = await workflow.start_child_workflow(
                    strategy.workflow,
                    child_run,
                    id=workflow_id_for(device_id),
                    result_type=ProvisionResult,
                    parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
                    search_attributes=sa.initial_search_attributes(
                        child_run, fleet_id=self._run.fleet_id
                    ),
                    static_summary=f"{child_run.summary()} · fleet {self._run.fleet_id}",
                    static_details=child_run.details(),
                )
            finally:
                self._starting -= 1
            await child
            self._tally.succeeded += 1
        except BaseException as error:
            if is_cancelled_exception(error):
                self._tally.cancelled += 1
                raise
            if isinstance(error, WorkflowAlreadyStartedError):
                failure = FleetFailure(
                    device_id=device_id,
                    error_code=ErrorCode.RUN_IN_PROGRESS,
                    message=f"another run for device {device_id} is in flight",
                    attempt=attempt,
                )
            elif isinstance(error, ChildWorkflowError):
                failure = _failure_of(member, error, attempt)
            else:
                raise
            self._tally.failures.add(failure, member)
        finally:
            self._running.pop(device_id, None)
            # GeneratorExit: the worker evicts the run and closes this coroutine outside
            # the workflow's event loop, where workflow.now() raises; nothing to record.
            if not isinstance(sys.exc_info()[1], GeneratorExit):
                self._touch()

    # ------------------------------------------------------------------ history bound

    def _rolls_over(self) -> bool:
        return (
            self._started_this_generation >= self._run.generation_size
            or workflow.info().is_continue_as_new_suggested()
        )

    def _carry_over(self) -> FleetRun:
        tally = self._tally.model_copy(update={"generation": self._tally.generation + 1})
        return self._run.model_copy(update={"queue": list(self._queue), "tally": tally})

    def _touch(self) -> None:
        self._tally.sequence += 1
        self._updated_at = workflow.now()
