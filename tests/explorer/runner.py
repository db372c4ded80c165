"""Running one sequence in its world, and recording everything the invariants judge.

The actions go out at their moments: operator actions as HTTP requests to the API that
run on their own (an update may wait for a rollback; the next action does not wait for
its answer), device actions and faults straight on the simulators. Just before each
action the run's state is read through `GET .../provision` (the coverage table's row).

Meanwhile a watcher compares what the API shows — `GET .../provision` and an event
stream followed like a live page follows it — with what Temporal holds for the
workflow, and notes a view that stays on a state the workflow has left.

At the end every fault is cleared, a person answers what the run still waits for
(credentials, the button, pairing mode) and cancels it if it still waits after
`PATIENCE`; the run must end within `END_BOUND`. Then the execution gathers every run
of the device: its last snapshot, what the device and the cloud held when the run was
first seen ended, and its history replayed against the workflow code — its
decommissioning runs too, with when each run owned the device (its registry claim to
its outcome), and, once everything ended, the device's registry record next to what the
device and the cloud hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import tempfile
import time
import traceback
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHistory,
    WorkflowQueryFailedError,
)
from temporalio.converter import DefaultFailureConverter
from temporalio.service import RPCError
from temporalio.worker import Replayer

from api.streams import MAX_BACKOFF_SECONDS
from connection.codec import data_converter
from domain.api_models import PROGRESS_SSE_EVENT
from domain.progress import ProgressSnapshot
from domain.registry import DeviceNotFound, DeviceState
from domain.run import PROGRESS_QUERY
from services.runs import QUERY_TIMEOUT as API_QUERY_TIMEOUT
from strategies.device_records import DeviceRecordActivity
from strategies.http_wifi import HttpWifiActivity
from strategies.improv_ble import ImprovBleActivity
from strategies.wifi_cloud import WifiCloudActivity
from strategies.zigbee import ZigbeeActivity
from tests.conftest import TEST_KEY_RING
from tests.explorer.model import (
    Action,
    ActionKind,
    Anchor,
    Credentials,
    Sequence,
    anchor_patience,
)
from tests.explorer.world import CREDENTIALS_BODIES, HUB_POLL_INTERVAL, World
from worker.workers import WORKFLOW_RUNNER
from workflows import search_attributes as sa
from workflows.catalog import all_workflows

TERMINAL = frozenset({"SUCCEEDED", "FAILED_VALIDATION", "FAILED", "ROLLED_BACK", "CANCELLED"})
WAITING_FOR_A_PERSON = frozenset({"PENDING_NETWORK", "WAITING_FOR_DEVICE"})
MOVING_ON_ITS_OWN = frozenset({"PENDING", "DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING"})
"""States the `ProvisioningState` search attribute may show as `IN_PROGRESS`."""

PATIENCE = 6.0
"""End phase: seconds a person answers a waiting run before cancelling it."""
END_BOUND = 45.0
"""I1: seconds after the end phase starts (or after it starts a re-provisioning or a
decommissioning run) within which every run must have ended (the
explorer's step policies put a run's longest chain of steps, rollback included, well
inside it once nothing is at fault)."""
QUERY_TIMEOUT = API_QUERY_TIMEOUT.total_seconds()
"""The API's limit for a progress query."""
HUB_MAX_BACKOFF = MAX_BACKOFF_SECONDS
"""The longest pause of the API's progress hub after failed queries."""
STALE_AFTER = 2.0
"""I5: a view may lag the workflow by the API's poll interval (0.5 s), not by this; a
stream that shows another run than the workflow's latest is stale after this long, one
that shows an earlier state of the same run after this plus the API's query timeout."""
WATCH_EVERY = 1.0
WATCH_CLOSELY_EVERY = 0.3
"""Seconds between two comparisons of the API's views with Temporal."""
SEQUENCE_BOUND = 300.0
"""Seconds after which a sequence counts as a harness failure (its runs end within
`END_BOUND` of the end phase, `END_BOUND_UNDER_KILLS` at most under worker kills; this
only stops a stuck harness)."""
GATHER_PATIENCE = 60.0
"""Seconds the gathering asks a run's last snapshot again while no worker answers."""
_UPDATE_TIMEOUT = 75.0
_CONVERTER = data_converter(TEST_KEY_RING)


def short(run_id: str) -> str:
    """A run id, shortened to its random end (run ids begin with their start time)."""
    return run_id[-8:]


def row_of(state: str | None) -> str:
    """The coverage table's row for a state seen before an action."""
    if state is None:
        return "no run"
    if state in TERMINAL and state != "SUCCEEDED":
        return "other terminal"
    return state


@dataclass(frozen=True)
class Observation:
    """The run as `GET .../provision` showed it at `at` (loop time)."""

    at: float
    run_id: str | None = None
    state: str | None = None
    execution_status: str | None = None
    snapshot: dict[str, Any] | None = None
    http_status: int | None = None
    """None: no answer at all; 404: no run yet; 503: the run did not answer in time."""

    @property
    def closed(self) -> bool:
        return self.execution_status is not None and self.execution_status != "RUNNING"

    @property
    def row(self) -> str:
        return row_of(self.state)


@dataclass(frozen=True)
class Answer:
    """What the API answered to one operator action (`status` None: no HTTP answer)."""

    status: int | None
    code: str | None = None
    problem: bool = False
    body: Any = None
    error: str | None = None
    """Why there was no answer; for a 5xx, what the API logged for it."""
    at: datetime | None = None
    """When the answer arrived (UTC): the run it was for is the latest one started by then."""

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        said = f"{self.status}" + (f" {self.code}" if self.code else "")
        return said + (f" (the API logged: {self.error})" if self.error else "")


@dataclass
class ActionRecord:
    """One action as it happened."""

    action: Action
    before: Observation
    answer: Answer | None = None
    sent_at: datetime | None = None
    """When the request went out (UTC); with the answer's time, the runs it may have hit."""
    end_phase: bool = False
    busy: float = 0.0
    """How slow the API answered the explorer's reads around this action (seconds):
    evidence of a machine too busy to answer within the API's limits."""

    def describe(self) -> str:
        text = f"{self.action.describe()}  (run was {self.before.state or 'not started'})"
        if self.answer is not None:
            text += f" -> {self.answer.describe()}"
        return text


@dataclass
class RunEnd:
    """What one run reported at its end and what the world held when it was seen ended."""

    run_id: str
    snapshot: dict[str, Any]
    problems: list[str] | None
    """I2/I3 problems of the device and cloud at that moment (None: not captured)."""
    world: str = ""

    @property
    def state(self) -> str:
        return str(self.snapshot.get("state"))

    @property
    def error_code(self) -> str | None:
        code = self.snapshot.get("error_code")
        return str(code) if code else None


@dataclass(frozen=True)
class StaleView:
    """A view of the run that showed a state the workflow had left, for too long."""

    view: str
    shown: str
    truth: str
    seconds: float
    detail: str = ""


@dataclass
class Execution:
    """Everything one run of a sequence left for the invariants to judge."""

    sequence: Sequence
    device_id: str = ""
    records: list[ActionRecord] = field(default_factory=list)
    ends: dict[str, RunEnd] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    """Every run of the device's workflow id, oldest first."""
    run_starts: dict[str, datetime] = field(default_factory=dict)
    unended: list[str] = field(default_factory=list)
    stale: list[StaleView] = field(default_factory=list)
    replay_failures: dict[str, str] = field(default_factory=dict)
    histories: list[tuple[WorkflowHistory, str]] = field(default_factory=list)
    """Histories (with their run ids) not replayed yet."""
    interrupted_undos: dict[str, list[str]] = field(default_factory=dict)
    """Undo activities a cancellation was sent to, by run."""
    cancel_requests: dict[str, str] = field(default_factory=dict)
    """Runs whose history holds a cancel request: what came after it."""
    decommissions: list[str] = field(default_factory=list)
    """Every run of the device's decommissioning workflow id, oldest first."""
    decommission_ends: dict[str, RunEnd] = field(default_factory=dict)
    reprovisions: set[str] = field(default_factory=set)
    """Runs started by the end phase's re-provisioning (`DeviceSetup.reprovision_at_end`)."""
    ownership: list[Ownership] = field(default_factory=list)
    """When each run (provisioning or decommissioning) owned the device in the registry."""
    busy_runs_that_acted: dict[str, list[str]] = field(default_factory=dict)
    """Runs that never held the registry's claim (DEVICE_BUSY) and still ran device steps."""
    final_record: dict[str, Any] | None = None
    """The device's registry record once every run ended (None: none, or no registry)."""
    final_world: tuple[list[str], list[str], str] | None = None
    """Then, what the world showed: (problems as configured for the record's network,
    problems as restored, what it holds)."""
    harness_error: str | None = None
    seconds: float = 0.0

    def runs_during(self, start: datetime | None, end: datetime | None) -> list[str]:
        """The device's runs that may have been current between `start` and `end`: the
        one running at `start` and every one started after it, until `end`."""
        if start is None or end is None:
            return []
        first = self.run_at(start)
        later = [run for run, at in self.run_starts.items() if start < at <= end]
        return ([first] if first is not None else []) + sorted(
            later, key=lambda run: self.run_starts[run]
        )

    def run_at(self, moment: datetime | None) -> str | None:
        """The device's latest run started at or before `moment`."""
        if moment is None:
            return None
        started = [(at, run) for run, at in self.run_starts.items() if at <= moment]
        return max(started)[1] if started else None

    def describe(self, *, events: bool = False) -> str:
        lines = [self.sequence.describe(), "  what happened:"]
        lines += [f"    {record.describe()}" for record in self.records]
        for run_id in self.runs:
            end = self.ends.get(run_id)
            if end is None:
                continue
            lines.append(
                f"  run {short(run_id)}: {end.state} {end.error_code or ''} "
                f"(ssid {end.snapshot.get('network_ssid')!r}); {end.world}"
            )
            if events:
                lines += [
                    f"      {e.get('state')}: {e.get('message')}"
                    for e in end.snapshot.get("events") or []
                ]
        for run_id in self.decommissions:
            end = self.decommission_ends.get(run_id)
            if end is None:
                continue
            lines.append(f"  decommission {short(run_id)}: {end.state} {end.error_code or ''}")
            if events:
                lines += [
                    f"      {e.get('state')}: {e.get('message')}"
                    for e in end.snapshot.get("events") or []
                ]
        if self.final_record is not None and self.final_world is not None:
            lines.append(
                f"  record at the end: {self.final_record.get('state')} "
                f"(ssid {self.final_record.get('network_ssid')!r}); {self.final_world[2]}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class Ownership:
    """A run that held the registry's claim on the device, from its claim's answer to its
    outcome's (`until` None: it never recorded one)."""

    workflow_id: str
    run_id: str
    since: datetime
    until: datetime | None


def ownership_of(history: WorkflowHistory, run_id: str) -> Ownership | None:
    """When the run owned the device, from its history (None: its claim was lost)."""
    scheduled: dict[int, str] = {}
    since: datetime | None = None
    until: datetime | None = None
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
        elif event.HasField("activity_task_completed_event_attributes"):
            attributes = event.activity_task_completed_event_attributes
            name = scheduled.get(attributes.scheduled_event_id, "")
            moment = event.event_time.ToDatetime(tzinfo=UTC)
            if name == DeviceRecordActivity.CLAIM.name:
                since = moment
            elif name == DeviceRecordActivity.RECORD_OUTCOME.name:
                until = moment
    if since is None:
        return None
    return Ownership(history.workflow_id, run_id, since, until)


def device_steps(history: WorkflowHistory) -> list[str]:
    """The activities of a run other than its registry steps."""
    registry = {DeviceRecordActivity.CLAIM.name, DeviceRecordActivity.RECORD_OUTCOME.name}
    return [
        name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and (name := event.activity_task_scheduled_event_attributes.activity_type.name)
        not in registry
    ]


UNDO_ACTIVITIES = frozenset(
    {
        str(HttpWifiActivity.RESET.name),
        str(ImprovBleActivity.RELEASE.name),
        str(ZigbeeActivity.REMOVE.name),
        str(WifiCloudActivity.REMOVE_DEVICE.name),
    }
)
"""The activities that undo a step (compensations)."""


def interrupted_undo_steps(history: WorkflowHistory) -> list[str]:
    """Undo activities of a run whose cancellation the workflow requested."""
    scheduled: dict[int, str] = {}
    interrupted = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
        elif event.HasField("activity_task_cancel_requested_event_attributes"):
            attributes = event.activity_task_cancel_requested_event_attributes
            name = scheduled.get(attributes.scheduled_event_id, "")
            if name in UNDO_ACTIVITIES:
                interrupted.append(name)
    return interrupted


UNENDED_HISTORIES = Path(tempfile.gettempdir()) / "devprov-explorer-unended"
"""Where the histories of runs that did not end in their bounds are kept, to be replayed."""


def last_events(history: WorkflowHistory, count: int = 8) -> str:
    """The last events of a run, with their times (and where each activity was sent):
    what an unended run was waiting for."""
    described = []
    for event in history.events[-count:]:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        text = f"{event.event_id} {kind} {event.event_time.ToDatetime(UTC):%H:%M:%S.%f}"
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            wait = attributes.schedule_to_start_timeout
            bound = f"{wait.ToTimedelta().total_seconds()}s" if wait.ByteSize() else "none"
            text += (
                f" {attributes.activity_type.name} on {attributes.task_queue.name}"
                f" (schedule-to-start {bound})"
            )
        described.append(text)
    return "; ".join(described)


def events_after_cancel_request(history: WorkflowHistory) -> str | None:
    """The kinds of history events after the run's cancel request (None: none came)."""
    kinds: list[str] | None = None
    for event in history.events:
        if event.HasField("workflow_execution_cancel_requested_event_attributes"):
            kinds = []
        elif kinds is not None:
            kinds.append(EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"))
    return None if kinds is None else ", ".join(kinds[-6:])


# ---------------------------------------------------------------------- views of the run


@dataclass(frozen=True)
class Truth:
    """What Temporal holds for the device's workflow id: its latest run."""

    run_id: str
    started: datetime | None
    running: bool
    state: str | None

    def describe(self) -> str:
        return f"{self.state} (run {short(self.run_id)})"


@dataclass(frozen=True)
class Shown:
    """What a view shows: a state, and which run it belongs to when the view says so
    (a run id, or the time of its event: an event older than the run is another run's)."""

    state: str
    run_id: str | None = None
    updated_at: datetime | None = None

    def describe(self) -> str:
        if self.run_id is not None:
            return f"{self.state} (run {short(self.run_id)})"
        if self.updated_at is not None:
            return f"{self.state} (event of {self.updated_at:%H:%M:%S.%f})"
        return self.state


EARLIER_RUN = "its event is older than the run"


def disagreement(shown: Shown, truth: Truth) -> str | None:
    """How a view differs from the workflow's latest run (None: it shows that run in
    its state; the search attribute may say `IN_PROGRESS` for a run moving on its own)."""
    if shown.run_id is not None and shown.run_id != truth.run_id:
        return "it shows another run"
    event, started = shown.updated_at, truth.started
    if event is not None and started is not None and event < started:
        return f"{EARLIER_RUN} (started {started:%H:%M:%S.%f}): an earlier run's"
    if truth.state == "IN_PROGRESS":
        if shown.state in MOVING_ON_ITS_OWN:
            return None
    elif shown.state == truth.state:
        return None
    return ANOTHER_STATE


ANOTHER_STATE = "another state of the same run"


class Slowness:
    """How busy the machine is: how late the event loop runs timers, and how long the
    API takes to answer `GET .../provision` (a query the workflow answers). A view may
    trail the workflow by that much more: a busy machine is not a stale view."""

    def __init__(self) -> None:
        self._lags: deque[tuple[float, float]] = deque(maxlen=200)
        self._answers: deque[tuple[float, float]] = deque(maxlen=50)

    async def measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.1)
            now = loop.time()
            self._lags.append((now, max(0.0, now - before - 0.1)))

    def record_answer(self, seconds: float, *, failed: bool) -> None:
        """One answer of the API; a failed one counts as its query timeout."""
        now = asyncio.get_running_loop().time()
        self._answers.append((now, QUERY_TIMEOUT if failed else seconds))

    def worst_since(self, since: float) -> float:
        lag = max((lag for at, lag in self._lags if at >= since), default=0.0)
        answer = max((took for at, took in self._answers if at >= since - 1.0), default=0.0)
        return lag + answer


class ApiPollFailures(logging.Handler):
    """Notes each time the API's progress hub says a run did not answer its query in
    time: it then asks again after a pause that doubles with each failure in a row (up
    to `HUB_MAX_BACKOFF`). A stream may trail the workflow by that much — the worker being busy or
    down, not the view being stale."""

    _PREFIX = "polling "

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failures: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith(self._PREFIX) or not record.args:
            return
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        workflow_id = str(args[0]).split("/", 1)[0]
        with contextlib.suppress(RuntimeError):
            now = asyncio.get_running_loop().time()
            self.failures.setdefault(workflow_id, []).append(now)

    def excuses(self, workflow_id: str, now: float) -> bool:
        """Whether the hub failed to query `workflow_id` lately (its retry is still due)."""
        recent = [at for at in self.failures.get(workflow_id, []) if now - at < 30.0]
        if not recent:
            return False
        pause: float = min(HUB_POLL_INTERVAL * 2.0 ** len(recent), HUB_MAX_BACKOFF)
        return now - recent[-1] < pause + STALE_AFTER


POLL_FAILURES = ApiPollFailures()


class ApiUnexpectedErrors(logging.Handler):
    """The API's log of the errors it answered 500 for (`api/problems.py` logs each with
    its traceback): a 500 in a finding then says what raised, not only that it was one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._errors: deque[tuple[str, str]] = deque(maxlen=200)

    def emit(self, record: logging.LogRecord) -> None:
        where = ""
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = traceback.extract_tb(error.__traceback__)
            last = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
            where = f"{type(error).__name__}: {str(error)[:300]}{last}"
        self._errors.append((record.getMessage(), where or record.getMessage()))

    def about(self, path: str) -> str | None:
        """What the API logged last for a request to `path`, if anything."""
        return next((where for said, where in reversed(self._errors) if path in said), None)


API_ERRORS = ApiUnexpectedErrors()

WORKER_LOSS_COST = 12.0
"""Seconds a killed worker may hold up a run beyond its outage: the longest a workflow
task waits on the dead worker's sticky queue (`STICKY_WINDOW`), an activity it had started
for its heartbeat or start-to-close timeout (at most 5 s in the explorer's policies) and
the retry's back-off, a step on its queue for the edge schedule-to-start bound (10 s
pinned, 8 s site) — whichever applies, plus the scheduling that follows."""
END_BOUND_UNDER_KILLS = 100.0
"""I1's bound with the kills' allowance added never exceeds this: a run that sits idle
with nothing pending is a finding however often workers were killed around it."""
STICKY_WINDOW = 10.0
"""Seconds for which Temporal keeps sending a workflow's tasks and queries to the sticky
queue of the worker that last ran it once that worker stopped polling (fixed in the
server's matching service as `stickyPollerUnavailableWindow`, not configurable)."""


class WorkerOutages:
    """When a worker was killed and when it was back (the process-level variant's killer
    notes both, for the central and for the edge worker).

    For the central worker, the one that answers every query: while it is down no query
    is answered, and after it is back Temporal still sends the queries of the runs it had
    cached to its dead sticky queue until `STICKY_WINDOW` has passed since the kill: a
    view trails the workflow until then, plus the query that was waiting at that moment
    (`QUERY_TIMEOUT`) and the progress hub's pause after it failed (`HUB_MAX_BACKOFF`).
    That is I5 under worker kills (docs/reliability.md)."""

    def __init__(self) -> None:
        self._outages: list[tuple[float, float | None]] = []

    def clear(self) -> None:
        """Forget every outage (their times are the monotonic clock's: a later test on
        another event loop would otherwise be excused by this one's kills)."""
        self._outages.clear()

    def killed(self, at: float) -> None:
        self._outages.append((at, None))

    def back(self, at: float) -> None:
        killed, _ = self._outages[-1]
        self._outages[-1] = (killed, at)

    def excused_until(self, since: float, now: float) -> float | None:
        """The end of the last outage's excuse that overlaps `since`..`now` (None: none)."""
        latest: float | None = None
        for killed, back in self._outages:
            if killed > now:
                continue
            answered_again = max(killed + STICKY_WINDOW, back if back is not None else now)
            end = answered_again + QUERY_TIMEOUT + HUB_MAX_BACKOFF
            if back is None:
                end = max(end, now)
            if end >= since:
                latest = end if latest is None else max(latest, end)
        return latest

    def allowance(self, since: float, now: float) -> float:
        """I1 under worker kills: what the kills between `since` and `now` may have cost a
        run — each one its outage, plus `WORKER_LOSS_COST` for a task or a step that was
        on the killed worker (or waited for it) to be handed to a live one."""
        total = 0.0
        for killed, back in self._outages:
            held_until = (back if back is not None else now) + WORKER_LOSS_COST
            if killed <= now and held_until >= since:
                total += held_until - max(killed, since)
        return total


CENTRAL_WORKER_OUTAGES = WorkerOutages()
EDGE_WORKER_OUTAGES = WorkerOutages()
"""Kills of the edge worker (I1's allowance; no query goes to an edge worker)."""


def end_bound(since: float, now: float) -> float:
    """I1: seconds a run started (or an end phase begun) at `since` has to end, as of
    `now`: `END_BOUND`, plus what the worker kills since then may have cost it."""
    kills = CENTRAL_WORKER_OUTAGES.allowance(since, now) + EDGE_WORKER_OUTAGES.allowance(since, now)
    return END_BOUND if not kills else min(END_BOUND + kills, END_BOUND_UNDER_KILLS)


@contextlib.contextmanager
def watching_api_poll_failures() -> Iterator[ApiPollFailures]:
    """Listen to the API's progress hub for queries that failed (see `ApiPollFailures`)."""
    hub_log = logging.getLogger("devprov.api.streams")
    api_log = logging.getLogger("devprov.api")
    hub_log.addHandler(POLL_FAILURES)
    api_log.addHandler(API_ERRORS)
    try:
        yield POLL_FAILURES
    finally:
        hub_log.removeHandler(POLL_FAILURES)
        api_log.removeHandler(API_ERRORS)


class Freshness:
    """Tracks one view: since when it shows, unchanged, a state the workflow is not in."""

    def __init__(
        self, name: str, slowness: Slowness, outages: WorkerOutages = CENTRAL_WORKER_OUTAGES
    ) -> None:
        self.name = name
        self._slowness = slowness
        self._outages = outages
        self._since: float | None = None
        self._shown: Shown | None = None
        self._reported = False

    @property
    def pending(self) -> bool:
        """Whether the view disagrees with the workflow now (not yet for long)."""
        return self._since is not None and not self._reported

    def sample(
        self, shown: Shown | None, truth: Truth | None, now: float, detail: str = ""
    ) -> StaleView | None:
        differs = disagreement(shown, truth) if shown is not None and truth is not None else None
        if differs is None or shown is None or truth is None:
            self._since = None
            return None
        if self._since is None or shown != self._shown:
            self._since, self._shown = now, shown
            return None
        counted_from = self._since
        excused_until = self._outages.excused_until(self._since, now)
        if excused_until is not None:
            if excused_until >= now:
                return None  # no worker could answer the view's queries (I5 under kills)
            counted_from = max(counted_from, excused_until)
        lasted = now - counted_from
        allowed = STALE_AFTER + self._slowness.worst_since(self._since)
        if differs == ANOTHER_STATE or differs.startswith(EARLIER_RUN):
            # Same run, an earlier state: the view trails by a query that is slow to come
            # back, which the API tolerates up to its query timeout before it gives up.
            # A stream still on the run before: it moves on once it has that run's last
            # event, which a worker answers by replaying the ended run (one more query).
            allowed += QUERY_TIMEOUT
        if self._reported or lasted <= allowed:
            return None
        self._reported = True
        return StaleView(
            self.name, shown.describe(), truth.describe(), round(lasted, 1), f"{differs}; {detail}"
        )


class EventStreamView:
    """A person's live view: the run's event stream, followed like the console does —
    resumed with `Last-Event-ID` when the connection breaks, and opened afresh for the
    next run once a run ended and the workflow id has a newer run."""

    def __init__(self, http: httpx.AsyncClient, path: str, latest_run: Callable[[], str | None]):
        self._http = http
        self._path = path
        self._latest_run = latest_run
        self.shown: Shown | None = None
        self.connected = False
        self.connections = 0
        self.last_event_at = 0.0

    def describe(self, now: float) -> str:
        return (
            f"stream {'open' if self.connected else 'closed'}, {self.connections} "
            f"connection(s), last event {now - self.last_event_at:.1f}s ago"
        )

    async def follow(self) -> None:
        last_id: int | None = None
        followed: str | None = None
        ended = False
        while True:
            if ended:
                if self._latest_run() in (None, followed):
                    await asyncio.sleep(0.2)
                    continue
                ended, last_id = False, None
            headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
            followed = self._latest_run() or followed
            with contextlib.suppress(httpx.HTTPError):
                async with aconnect_sse(
                    self._http, "GET", self._path, headers=headers, timeout=30.0
                ) as source:
                    if source.response.status_code == 200:
                        self.connected = True
                        self.connections += 1
                        async for message in source.aiter_sse():
                            if message.event != PROGRESS_SSE_EVENT:
                                continue
                            data = json.loads(message.data)
                            self.shown = Shown(
                                str(data["state"]),
                                updated_at=datetime.fromisoformat(data["updated_at"]),
                            )
                            self.last_event_at = asyncio.get_running_loop().time()
                            if message.id.isdigit():
                                last_id = int(message.id)
                            # The run the stream follows, as the API says: the truth may
                            # not have seen that run yet when the stream was opened.
                            followed = str(data["run_id"])
                            ended = ended or bool(data.get("terminal"))
            self.connected = False
            await asyncio.sleep(0.3)


# ---------------------------------------------------------------------- the execution


class SequenceRun:
    """Runs one sequence in an open world and returns its `Execution`."""

    def __init__(self, sequence: Sequence, world: World, http: httpx.AsyncClient) -> None:
        self.sequence = sequence
        self.world = world
        self.http = http
        self.temporal: Client = world.temporal
        self.execution = Execution(sequence, device_id=world.device_id)
        self._loop = asyncio.get_running_loop()
        self._slowness = Slowness()
        self._truth: Truth | None = None
        self._last_seen: Observation | None = None
        self._undone_at_end: dict[str, tuple[list[str], str]] = {}
        self._just_ended = False
        self._started = False
        self._decommission_sent_at: datetime | None = None
        self._sent: set[asyncio.Task[None]] = set()

    # -- reading the run

    async def observe(self) -> Observation:
        """`GET .../provision`; the first time a run is seen ended, what the world holds.

        A run that has ended no longer changes: while Temporal says the latest run is
        still that ended one, its last answer stands in (a query on an ended run makes
        the worker replay its whole history, and nothing new can come of it)."""
        now = self._loop.time()
        last = self._last_seen
        if last is not None and last.closed:
            truth = await self.truth()
            if truth is not None and truth.run_id == last.run_id and not truth.running:
                return replace(last, at=now)
        started = time.monotonic()
        try:
            response = await self.http.get(self.world.run_path(), timeout=15.0)
        except httpx.HTTPError:
            self._slowness.record_answer(time.monotonic() - started, failed=True)
            return Observation(now)
        self._slowness.record_answer(time.monotonic() - started, failed=response.status_code >= 500)
        if response.status_code != 200:
            return Observation(now, http_status=response.status_code)
        body: dict[str, Any] = response.json()
        seen = Observation(
            now, body.get("run_id"), body.get("state"), body.get("execution_status"), body, 200
        )
        self._last_seen = seen
        if seen.closed and seen.run_id and seen.run_id not in self.execution.ends:
            captured_at = datetime.now(UTC)
            if self._capture_end(seen.run_id, body):
                return seen
            truth = await self.truth()
            newer = truth is not None and truth.run_id != seen.run_id
            if newer and truth is not None and (truth.started or captured_at) <= captured_at:
                # A newer run (a retry) had started: the world may already show its doing.
                self.execution.ends[seen.run_id].problems = None
            elif self._decommission_sent_at is not None:
                # A decommission went out while the run showed its end but had not yet
                # closed: the world may show the decommission's undoing (I10 judges it).
                self.execution.ends[seen.run_id].problems = None
        return seen

    def _capture_end(self, run_id: str, snapshot: dict[str, Any]) -> bool:
        """Record the run's end; whether the world was noted at the very end (`_note_end`)."""
        early = self._undone_at_end.pop(run_id, None)
        if early is not None and snapshot.get("state") != "SUCCEEDED":
            problems, held = early
        else:
            world = self.world
            if snapshot.get("state") == "SUCCEEDED":
                problems = world.configured_problems(snapshot.get("network_ssid"))
            else:
                problems = world.restored_problems()
            held = world.describe()
        self.execution.ends[run_id] = RunEnd(run_id, snapshot, problems, held)
        return early is not None and snapshot.get("state") != "SUCCEEDED"

    def _note_end(self, truth: Truth) -> None:
        """The run just ended (Temporal says so) without success: note what the world
        holds now, before anything else (a retry's next run) can touch it."""
        if truth.run_id in self.execution.ends or truth.run_id in self._undone_at_end:
            return
        world = self.world
        self._undone_at_end[truth.run_id] = (world.restored_problems(), world.describe())

    def _quick_look(self) -> Observation:
        """The run as Temporal's record showed it a moment ago, for an action that goes
        out the moment a run ended (a GET would first have the worker replay the ended
        run, and the moment would be gone)."""
        truth = self._truth
        now = self._loop.time()
        if truth is None:
            return Observation(now)
        status = "RUNNING" if truth.running else "CLOSED"
        return Observation(now, truth.run_id, truth.state, status, None, 200)

    async def truth(self) -> Truth | None:
        """The workflow id's latest run as Temporal describes it."""
        try:
            described = await self.temporal.get_workflow_handle(self.world.workflow_id).describe()
        except RPCError:
            return None
        state = described.typed_search_attributes.get(sa.PROVISIONING_STATE)
        running = described.status is WorkflowExecutionStatus.RUNNING
        self._truth = Truth(described.run_id, described.start_time, running, state)
        return self._truth

    def _latest_run(self) -> str | None:
        return self._truth.run_id if self._truth is not None else None

    async def _until(self, anchor: Anchor, stream: EventStreamView) -> None:
        """Wait (up to the family's anchor patience) until the workflow is in `anchor`'s
        state: its `ProvisioningState` search attribute says so, or the event stream
        shows it. The end of a run is watched closely: what comes right after it (a
        retry's new run) is where the API's views have to change runs."""
        patience = anchor_patience(self.sequence.family)
        deadline = self._loop.time() + patience
        every = 0.05 if anchor is Anchor.ENDED else 0.15
        while self._loop.time() < deadline:
            truth = await self.truth()
            if anchor is Anchor.ENDED and truth is not None and not truth.running:
                if truth.state != "SUCCEEDED":
                    self._note_end(truth)
                self._just_ended = True
                return
            states = [truth.state if truth is not None else None]
            states.append(stream.shown.state if stream.shown is not None else None)
            if any(s == anchor.value or (anchor is Anchor.ENDED and s in TERMINAL) for s in states):
                return
            await asyncio.sleep(every)

    async def _watch(self, stream: EventStreamView) -> None:
        get_view = Freshness("GET .../provision", self._slowness)
        stream_view = Freshness("event stream .../provision/events", self._slowness)
        while True:
            # While a view disagrees, sample often: the time the workflow takes to answer
            # a query right now is what a view may fairly lag by.
            pending = get_view.pending or stream_view.pending
            await asyncio.sleep(WATCH_CLOSELY_EVERY if pending else WATCH_EVERY)
            seen = await self.observe()
            truth = await self.truth()
            now = self._loop.time()
            shown = Shown(seen.state, seen.run_id) if seen.state is not None else None
            excused = POLL_FAILURES.excuses(self.world.workflow_id, now)
            streamed = None if excused else stream.shown
            views = ((get_view, shown, ""), (stream_view, streamed, stream.describe(now)))
            for freshness, view, detail in views:
                stale = freshness.sample(view, truth, now, detail)
                if stale is not None:
                    self.execution.stale.append(stale)

    # -- acting

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> Answer:
        try:
            response = await self.http.post(path, json=body, timeout=_UPDATE_TIMEOUT)
        except httpx.HTTPError as error:
            return Answer(None, error=f"{type(error).__name__}: {error}")
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text[:300]
        code = payload.get("code") if isinstance(payload, dict) and problem else None
        cause = None
        if response.status_code >= 500:  # what raised, else what the problem says
            detail = payload.get("detail") if isinstance(payload, dict) else None
            cause = API_ERRORS.about(path) or (str(detail)[:300] if detail else None)
        return Answer(
            response.status_code, code, problem, payload, error=cause, at=datetime.now(UTC)
        )

    def _request_of(self, action: Action) -> tuple[str, dict[str, Any] | None]:
        world = self.world
        kind = action.kind
        if kind is ActionKind.START:
            return world.start_request(action.credentials)
        if kind is ActionKind.REPROVISION:
            path, body = world.start_request(action.credentials)
            return path, {**(body or {}), "reprovision": self.sequence.setup.reprovision_at_end}
        if kind is ActionKind.CREDENTIALS:
            assert action.credentials is not None
            return world.run_path("credentials"), CREDENTIALS_BODIES[action.credentials]
        if kind is ActionKind.FORGET_CREDENTIALS:
            return world.run_path("forget-credentials"), None
        if kind is ActionKind.RETRY:
            return world.run_path("retry"), None
        if kind is ActionKind.CANCEL:
            return world.run_path("cancel"), None
        if kind is ActionKind.DECOMMISSION:
            return world.decommission_path(), None
        if kind is ActionKind.FLEET_RETRY:
            return world.fleet_path("retry"), {"device_ids": []}
        return world.fleet_path("cancel"), None

    async def _send(self, record: ActionRecord) -> None:
        path, body = self._request_of(record.action)
        fleet_action = record.action.kind in (ActionKind.FLEET_RETRY, ActionKind.FLEET_CANCEL)
        if fleet_action and self.world.fleet_id is None:
            return
        sent = self._loop.time()
        record.sent_at = datetime.now(UTC)
        if record.action.kind is ActionKind.DECOMMISSION:
            self._decommission_sent_at = record.sent_at
        record.answer = await self._post(path, body)
        record.busy = self._slowness.worst_since(sent - 5.0)

    async def act(self, action: Action, *, end_phase: bool = False) -> ActionRecord:
        """Do `action` now, after reading the run's state.

        Before a decommission the run is read in full, even just after it ended: a run
        first seen ended later could show the decommission's doing as its own end.
        """
        quick = action.kind is not ActionKind.DECOMMISSION
        if self._just_ended and action.delay < 0.2 and quick:
            before = self._quick_look()
        else:
            before = await self.observe()
        self._just_ended = False
        record = ActionRecord(action, before, end_phase=end_phase)
        self.execution.records.append(record)
        kind = action.kind
        if kind is ActionKind.START:
            await self._send(record)
            self._started = True
        elif kind is ActionKind.REPROVISION:
            await self._send(record)
            answer = record.answer
            if answer is not None and answer.status == 202 and isinstance(answer.body, dict):
                self.execution.reprovisions.add(str(answer.body.get("run_id")))
        elif kind.is_operator:
            task = asyncio.create_task(self._send(record))
            self._sent.add(task)
            task.add_done_callback(self._sent.discard)
        elif kind.is_device:
            await self.world.device.act(kind)
        elif action.fault is not None:
            await self.world.set_fault(action.fault, kind is ActionKind.FAULT_ON)
        return record

    # -- the end phase

    async def _decommission_running(self) -> bool:
        with contextlib.suppress(RPCError):
            handle = self.temporal.get_workflow_handle(self.world.decommission_workflow_id)
            return (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        return False

    async def _in_service(self) -> bool:
        """Whether the registry shows the device in service (what a policy is about)."""
        registry = self.world.registry
        if registry is None:
            return False
        try:
            record = await registry.get(self.world.device_id)
        except DeviceNotFound:
            return False
        return record.state is DeviceState.IN_SERVICE

    async def _fleet_running(self) -> bool:
        workflow_id = self.world.fleet_workflow_id
        if workflow_id is None:
            return False
        with contextlib.suppress(RPCError):
            described = await self.temporal.get_workflow_handle(workflow_id).describe()
            return described.status is WorkflowExecutionStatus.RUNNING
        return False

    async def _end_phase(self) -> None:
        """Faults off; a person answers what the run waits for, then cancels it."""
        world = self.world
        await world.clear_faults()
        start = self._loop.time()
        credentials_sent: dict[str, list[float]] = {}
        last_help = 0.0
        cancelled: ActionRecord | None = None
        decommission = self.sequence.setup.decommission_at_end
        reprovision = self.sequence.setup.reprovision_at_end
        while True:
            # Read before looking: an answer that arrives meanwhile (a retry's new run) is
            # then seen by the next look.
            answers_pending = bool(self._sent)
            truth = await self.truth()
            fleet_running = await self._fleet_running()
            decommissioning = await self._decommission_running()
            now = self._loop.time()
            if not fleet_running and not answers_pending and not decommissioning:
                if truth is not None and not truth.running and reprovision:
                    policy, reprovision = reprovision, None
                    if await self._in_service():
                        network: Credentials | None = None
                        if self.sequence.family.takes_credentials:
                            migrating = policy == "migrate"
                            network = Credentials.GUEST if migrating else Credentials.LAB
                        action = Action(-1, ActionKind.REPROVISION, credentials=network)
                        await self.act(action, end_phase=True)
                        start, cancelled = self._loop.time(), None  # its own bound
                        continue
                if truth is not None and not truth.running and decommission:
                    decommission = False
                    await self.act(Action(-1, ActionKind.DECOMMISSION), end_phase=True)
                    start = self._loop.time()  # the decommission has its own bound
                    continue
                if truth is not None and not truth.running:
                    break
                if truth is None and now - start > 3.0:
                    break  # no run was ever started (its start was refused)
            if now - start > end_bound(start, now):
                break  # what still runs is terminated, and reported, by _gather
            state = truth.state if truth is not None else None
            if cancelled is not None and _refused_for_now(cancelled):
                cancelled = None  # the API said "try again": a person does
            if state == "PENDING_NETWORK" and truth is not None and cancelled is None:
                sent = credentials_sent.setdefault(truth.run_id, [])
                if len(sent) < 3 and (not sent or now - sent[-1] > 2.0):
                    sent.append(now)
                    answer = Action(-1, ActionKind.CREDENTIALS, credentials=Credentials.LAB)
                    await self.act(answer, end_phase=True)
            if state == "WAITING_FOR_DEVICE" and now - last_help > 1.0:
                last_help = now
                await world.device.help_as_person()
            answered_lately = any(
                now - sent[-1] < 3.0 for sent in credentials_sent.values() if sent
            )
            if state in WAITING_FOR_A_PERSON and now - start > PATIENCE and cancelled is None:
                if answered_lately:
                    await asyncio.sleep(0.4)
                    continue  # give the answer a moment to take effect
                cancelled = await self.act(Action(-1, ActionKind.CANCEL), end_phase=True)
            await asyncio.sleep(0.4)
        await self.observe()  # the last run's end, with what the world holds now

    # -- gathering what the runs left

    async def _gather(self) -> None:
        execution, temporal = self.execution, self.temporal
        histories = execution.histories
        decommission_id = self.world.decommission_workflow_id
        for workflow_id in (self.world.workflow_id, self.world.fleet_workflow_id, decommission_id):
            if workflow_id is None:
                continue
            runs = [
                (run.start_time, run.run_id)
                async for run in temporal.list_workflows(f"WorkflowId = '{workflow_id}'")
            ]
            for started, run_id in sorted(runs):
                handle = temporal.get_workflow_handle(workflow_id, run_id=run_id)
                described = await handle.describe()
                if described.status is WorkflowExecutionStatus.RUNNING:
                    pending = [
                        f"{a.activity_type.name} attempt {a.attempt} "
                        f"{PendingActivityState.Name(a.state)} on {a.last_worker_identity or '-'} "
                        f"({a.last_failure.message[:120] or 'no failure yet'})"
                        for a in described.raw_description.pending_activities
                    ]
                    task = described.raw_description.pending_workflow_task
                    waiting = (
                        f"; workflow task attempt {task.attempt} scheduled "
                        f"{task.scheduled_time.ToDatetime(UTC):%H:%M:%S.%f}"
                        if task.HasField("scheduled_time")
                        else ""
                    )
                    await handle.terminate("explorer: the run did not end within its bound")
                    history = await handle.fetch_history()
                    kept = UNENDED_HISTORIES / f"{workflow_id}-{run_id}.json"
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.write_text(history.to_json())
                    execution.unended.append(
                        f"{workflow_id} run {short(run_id)}; pending activities: {pending}"
                        f"{waiting}; last events: {last_events(history)}; history in {kept}"
                    )
                else:
                    history = await handle.fetch_history()
                histories.append((history, run_id))
                interrupted = interrupted_undo_steps(history)
                if interrupted:
                    execution.interrupted_undos[run_id] = interrupted
                after_cancel = events_after_cancel_request(history)
                if after_cancel is not None:
                    execution.cancel_requests[run_id] = after_cancel
                if workflow_id == self.world.workflow_id:
                    execution.runs.append(run_id)
                    execution.run_starts[run_id] = started
                if workflow_id == decommission_id:
                    execution.decommissions.append(run_id)
                if workflow_id in (self.world.workflow_id, decommission_id):
                    owned = ownership_of(history, run_id)
                    if owned is not None:
                        execution.ownership.append(owned)
                    elif device_steps(history):
                        # It never held the claim (it lost it: DEVICE_BUSY), yet acted.
                        execution.busy_runs_that_acted[run_id] = device_steps(history)
        last = execution.runs[-1] if execution.runs else None
        for run_id in execution.runs:
            if run_id in execution.ends:
                continue
            snapshot = await self._progress_or_replay_failure(self.world.workflow_id, run_id)
            if snapshot is None:
                continue
            payload = snapshot.model_dump(mode="json")
            if run_id == last or run_id in self._undone_at_end:
                self._capture_end(run_id, payload)
            else:
                execution.ends[run_id] = RunEnd(run_id, payload, None)
        for run_id in execution.decommissions:
            snapshot = await self._progress_or_replay_failure(decommission_id, run_id)
            if snapshot is None:
                continue
            payload = snapshot.model_dump(mode="json")
            execution.decommission_ends[run_id] = RunEnd(run_id, payload, None)
        await self._final_record()

    async def _progress_or_replay_failure(
        self, workflow_id: str | None, run_id: str
    ) -> ProgressSnapshot | None:
        """A run's last snapshot; None when the worker could not replay its history to
        answer (that is I6, found here before the explorer's own replay)."""
        assert workflow_id is not None
        try:
            return await _progress_of(self.temporal, workflow_id, run_id)
        except WorkflowQueryFailedError as error:
            if "Nondeterminism" not in error.message:
                raise
            self.execution.replay_failures[run_id] = f"the progress query: {error.message}"
            return None

    async def _final_record(self) -> None:
        """The registry's record and the world, once every run of the device ended."""
        world, execution = self.world, self.execution
        if world.registry is None:
            return
        try:
            record = await world.registry.get(world.device_id)
        except DeviceNotFound:
            return
        execution.final_record = record.model_dump(mode="json")
        execution.final_world = (
            world.configured_problems(record.network_ssid),
            world.restored_problems(),
            world.describe(),
        )

    # -- the whole sequence

    async def run(self) -> Execution:
        started = time.monotonic()
        stream = EventStreamView(self.http, self.world.run_path("events"), self._latest_run)
        background: list[asyncio.Task[None]] = [asyncio.create_task(self._slowness.measure())]
        try:
            for action in self.sequence.actions:
                if action.anchor is not None and self._started:
                    await self._until(action.anchor, stream)
                await asyncio.sleep(action.delay)
                await self.act(action)
                if action.kind is ActionKind.START:
                    background += [
                        asyncio.create_task(stream.follow()),
                        asyncio.create_task(self._watch(stream)),
                    ]
            await self._end_phase()
            if self._sent:
                await asyncio.wait(self._sent, timeout=_UPDATE_TIMEOUT)
            await _cancel(background)
            await self._gather()
        finally:
            await _cancel(background + list(self._sent))
        self.execution.seconds = round(time.monotonic() - started, 1)
        return self.execution


def _where(error: BaseException) -> str:
    """The explorer's own line the error came through (what to look at next time)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/explorer/" in f.filename]
    last = frames[-1] if frames else None
    return f"at {Path(last.filename).name}:{last.lineno} {last.name}" if last else "no frame"


async def _progress_of(temporal: Client, workflow_id: str, run_id: str) -> ProgressSnapshot:
    """A run's last snapshot, asked again while no worker answers (one may be down for a
    while in the process-level variant: the query times out then)."""
    deadline = time.monotonic() + GATHER_PATIENCE
    while True:
        handle = temporal.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            snapshot: ProgressSnapshot = await handle.query(
                PROGRESS_QUERY, result_type=ProgressSnapshot, rpc_timeout=API_QUERY_TIMEOUT
            )
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        else:
            return snapshot


def _refused_for_now(record: ActionRecord) -> bool:
    """The API answered `503 TEMPORAL_UNAVAILABLE`: nothing changed, try again."""
    answer = record.answer
    return answer is not None and (answer.status, answer.code) == (503, "TEMPORAL_UNAVAILABLE")


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class HistoryReplays:
    """Replays the histories of executions against the workflow code, in batches: one
    replayer run over many histories costs a third of one run per history."""

    def __init__(self, batch: int = 40) -> None:
        self._batch = batch
        self._pending: list[Execution] = []
        self._lock = asyncio.Lock()
        self._replayer = Replayer(
            workflows=all_workflows(),
            # Decodes the histories with the test key ring; a failure the replay itself
            # raises stays readable (never sent anywhere: no need to encode its message).
            data_converter=dataclasses.replace(
                _CONVERTER, failure_converter_class=DefaultFailureConverter
            ),
            workflow_runner=WORKFLOW_RUNNER,
            # I6 is about non-determinism. The deadlock detector (a workflow task that
            # does not yield within 2 s) fired once on a replay while the machine was
            # busy (`627018801/1398`, 0 of 3 re-runs); a real deadlock shows live, where
            # the workers run with it on, as a run that does not end (I1).
            debug_mode=True,
        )

    async def add(self, execution: Execution) -> None:
        """Queue the execution's histories; replay the queue once it is a batch."""
        self._pending.append(execution)
        if sum(len(e.histories) for e in self._pending) >= self._batch:
            await self.flush()

    async def flush(self) -> None:
        """Replay every queued history; failures go to their execution."""
        async with self._lock:
            pending, self._pending = self._pending, []
            owners = {run_id: e for e in pending for _, run_id in e.histories}
            if not owners:
                return

            async def histories() -> AsyncIterator[WorkflowHistory]:
                for execution in pending:
                    for history, _ in execution.histories:
                        yield history

            results = await self._replayer.replay_workflows(
                histories(), raise_on_replay_failure=False
            )
            for run_id, error in results.replay_failures.items():
                owner = owners.get(run_id)
                if owner is not None:
                    owner.replay_failures[run_id] = f"{type(error).__name__}: {error}"
            for execution in pending:
                execution.histories.clear()


OpenWorld = Callable[[Sequence], contextlib.AbstractAsyncContextManager[World]]


async def execute(
    sequence: Sequence, open_world: OpenWorld, replays: HistoryReplays | None = None
) -> Execution:
    """Run `sequence` in a world of its own, and replay its histories (in `replays`'
    next batch, or now); a harness failure is recorded, not raised."""
    try:
        async with (
            open_world(sequence) as world,
            httpx.AsyncClient(base_url=world.api_url, trust_env=False, verify=False) as http,
        ):
            execution = await asyncio.wait_for(
                SequenceRun(sequence, world, http).run(), SEQUENCE_BOUND
            )
    except Exception as error:  # the explorer itself broke: report it with the sequence
        execution = Execution(sequence)
        execution.harness_error = f"{type(error).__name__}: {error} ({_where(error)})"
        return execution
    if replays is not None:
        await replays.add(execution)
    else:
        own = HistoryReplays()
        await own.add(execution)
        await own.flush()
    return execution


async def gather_limited(
    jobs: list[Callable[[], Awaitable[Execution]]], limit: int
) -> list[Execution]:
    """Run `jobs` with at most `limit` of them at once, keeping their order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Execution]]) -> Execution:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))
