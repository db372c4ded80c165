"""devprov keeps its promise whatever people, devices and the cloud do, and whenever.

`make test` explores 100 sequences in process (`DEVPROV_EXPLORER_SEQUENCES`);
`make chaos` explores 2,000, and runs the process-level variant, whose workers are
child processes that get SIGKILLed now and then (`DEVPROV_EXPLORER_PROCESS_SEQUENCES`).
A failure prints each finding's minimal sequence and how to replay it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.testing import WorkflowEnvironment

from simulators.wifi_cloud import CloudConfig
from tests.chaos.harness import ChaosStack
from tests.conftest import start_dev_server
from tests.explorer.exploration import ExplorationReport, ExplorerSettings, explore
from tests.explorer.invariants import (
    Violation,
    check,
    check_answers,
    check_ends,
    check_final_record,
    check_refused_cancels,
    check_replays,
)
from tests.explorer.model import (
    Action,
    ActionKind,
    DeviceSetup,
    Family,
    Sequence,
    generate,
    parse_replay_spec,
)
from tests.explorer.runner import (
    API_ERRORS,
    CENTRAL_WORKER_OUTAGES,
    EDGE_WORKER_OUTAGES,
    END_BOUND,
    END_BOUND_UNDER_KILLS,
    HUB_MAX_BACKOFF,
    QUERY_TIMEOUT,
    STALE_AFTER,
    STICKY_WINDOW,
    WORKER_LOSS_COST,
    ActionRecord,
    Answer,
    Execution,
    Freshness,
    Observation,
    RunEnd,
    SequenceRun,
    Shown,
    Slowness,
    Truth,
    WorkerOutages,
    end_bound,
    watching_api_poll_failures,
)
from tests.explorer.shrink import shrink
from tests.explorer.world import (
    EXTRA_CREDENTIALS,
    World,
    explorer_policy_env,
    open_chaos_world,
    open_world,
)
from workflows.wifi_cloud import CLOUD_COMPENSATION

PROCESS_FAMILIES = frozenset({Family.HTTP_WIFI, Family.WIFI_CLOUD})
"""The process-level variant runs the families whose edge and central steps the chaos
stack's worker processes serve."""


@pytest.mark.timeout(7200)
async def test_every_run_keeps_the_promise_under_any_sequence_of_actions_and_faults(
    temporal_env: WorkflowEnvironment, tmp_path: Path, explorer_settings: ExplorerSettings
) -> None:
    settings = explorer_settings
    planned = settings.planned()
    batches = [planned[i : i + settings.batch] for i in range(0, len(planned), settings.batch)]
    before = _pending_tasks()
    reports = []
    for number, batch in enumerate(batches, 1):
        # One batch runs on the session's server; more get a fresh server each, so that
        # 2,000 sequences do not fill one in-memory server (visibility slows as it grows).
        async with _dev_server(temporal_env, own=len(batches) > 1) as client:

            def in_process(
                sequence: Sequence, client: Client = client
            ) -> contextlib.AbstractAsyncContextManager[World]:
                return open_world(sequence, client, tmp_path)

            reports.append(await explore(settings, in_process, check, planned=batch))
        if len(batches) > 1:
            print(f"batch {number} of {len(batches)}: {reports[-1].summary()}", flush=True)
    left = await _tasks_left_since(before)

    report = ExplorationReport.merged(settings, reports)
    print(report.describe())
    assert not report.findings, report.describe()
    assert left == set(), f"the explorer left tasks running: {sorted(left)}"


@contextlib.asynccontextmanager
async def _dev_server(session: WorkflowEnvironment, *, own: bool) -> AsyncIterator[Client]:
    """The session's dev server's client, or (`own`) that of a fresh one, shut down after."""
    if not own:
        yield session.client
        return
    env = await start_dev_server()
    try:
        yield env.client
    finally:
        await env.shutdown()


def _pending_tasks() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if not task.done()}


async def _tasks_left_since(before: set[asyncio.Task[object]]) -> set[str]:
    """Tasks started since `before` that are still pending (after a moment to settle)."""
    for _ in range(20):
        left = _pending_tasks() - before - {asyncio.current_task()}
        if not left:
            return set()
        await asyncio.sleep(0.1)
    return {task.get_name() for task in left}


# ---------------------------------------------------------------------- the explorer's parts


def test_a_seed_and_an_index_give_the_same_sequence_again() -> None:
    assert generate(1234, 7) == generate(1234, 7)
    assert generate(1234, 7) != generate(1235, 7)
    assert {generate(1234, i).family for i in range(len(Family))} == set(Family)


def test_a_replay_spec_names_a_shrunk_sequence() -> None:
    sequence = generate(99, 3)
    shrunk = sequence.keeping(sequence.removable[1:3])

    again = parse_replay_spec(shrunk.replay_spec)

    assert again == shrunk
    assert ActionKind.START in {a.kind for a in again.actions}
    assert parse_replay_spec(sequence.replay_spec) == sequence


async def test_shrinking_keeps_just_the_actions_a_failure_needs() -> None:
    sequence = generate(5, 0)
    needed = {a.number for a in sequence.removable[1::3]}

    async def reproduces(candidate: Sequence) -> bool:
        return needed <= {a.number for a in candidate.actions}

    shrunk = await shrink(sequence, reproduces, budget=60)

    assert {a.number for a in shrunk.sequence.removable} == needed
    assert shrunk.reproduced == shrunk.verified


def test_a_view_may_trail_while_no_worker_answers_its_queries_and_not_after() -> None:
    outages = WorkerOutages()
    excused = Freshness("GET", Slowness(), outages)
    unexcused = Freshness("GET", Slowness(), WorkerOutages())
    truth = Truth("run-b", None, True, "PENDING_NETWORK")
    shown = Shown("PRE_CHECK", "run-a")  # still the run before
    outages.killed(100.0)
    outages.back(101.0)
    answered_again = 100.0 + STICKY_WINDOW + QUERY_TIMEOUT + HUB_MAX_BACKOFF

    for view in (excused, unexcused):
        assert view.sample(shown, truth, 100.5) is None
    assert unexcused.sample(shown, truth, 100.5 + STALE_AFTER + 0.5) is not None
    assert excused.sample(shown, truth, answered_again - 0.1) is None
    assert excused.sample(shown, truth, answered_again + STALE_AFTER - 0.1) is None
    stale = excused.sample(shown, truth, answered_again + STALE_AFTER + 1.0)
    assert stale is not None
    assert stale.seconds == STALE_AFTER + 1.0


def test_a_run_has_longer_to_end_by_what_the_worker_kills_cost_it_and_no_longer() -> None:
    try:
        assert end_bound(0.0, 30.0) == END_BOUND
        CENTRAL_WORKER_OUTAGES.killed(-20.0)  # long over before the run began
        CENTRAL_WORKER_OUTAGES.back(-19.0)
        EDGE_WORKER_OUTAGES.killed(10.0)
        EDGE_WORKER_OUTAGES.back(11.5)
        assert end_bound(0.0, 30.0) == END_BOUND + 1.5 + WORKER_LOSS_COST
        CENTRAL_WORKER_OUTAGES.killed(20.0)  # still down
        assert end_bound(0.0, 30.0) == END_BOUND + 1.5 + 10.0 + 2 * WORKER_LOSS_COST
        for at in range(31, 60):  # killed again and again: the bound stops growing
            EDGE_WORKER_OUTAGES.killed(float(at))
            EDGE_WORKER_OUTAGES.back(at + 0.5)
        assert end_bound(0.0, 60.0) == END_BOUND_UNDER_KILLS
    finally:
        CENTRAL_WORKER_OUTAGES.clear()
        EDGE_WORKER_OUTAGES.clear()


def test_a_500_in_a_finding_says_what_the_api_logged_for_it() -> None:
    path = "/api/v1/devices/dev-x1/provision/retry"
    with watching_api_poll_failures():
        try:
            raise LookupError("no such run")
        except LookupError:
            logging.getLogger("devprov.api").exception("unexpected error in POST %s", path)

    cause = API_ERRORS.about(path)
    assert cause is not None
    assert cause.startswith("LookupError: no such run at ")
    assert API_ERRORS.about("/api/v1/devices/dev-x2/provision/retry") is None


def test_a_cloud_conflict_is_devprovs_fault_unless_an_earlier_run_left_the_registration() -> None:
    def run_end(run_id: str, code: str, leftovers: list[str]) -> RunEnd:
        events = [{"message": f"compensation '{name}' failed"} for name in leftovers]
        snapshot = {"state": "FAILED", "error_code": code, "leftovers": leftovers}
        return RunEnd(run_id, {**snapshot, "events": events}, problems=None)

    sequence = Sequence(1, 1, Family.WIFI_CLOUD, DeviceSetup(), (), 0)
    alone = Execution(sequence, runs=["b"], ends={"b": run_end("b", "CLOUD_CONFLICT", [])})
    after_leftover = Execution(
        sequence,
        runs=["a", "b"],
        ends={
            "a": run_end("a", "ROLLBACK_FAILED", [CLOUD_COMPENSATION]),
            "b": run_end("b", "CLOUD_CONFLICT", []),
        },
    )

    assert [v.key for v in check_ends(alone)] == ["I7/wifi-cloud/CLOUD_CONFLICT"]
    assert check_ends(after_leftover) == []


async def test_a_run_whose_history_a_worker_cannot_replay_is_an_i6_finding() -> None:
    class Unreplayable:
        async def query(self, *args: object, **kwargs: object) -> object:
            raise WorkflowQueryFailedError(
                "[TMPRL1100] Nondeterminism error: Update machine does not handle this event"
            )

    class Temporal:
        def get_workflow_handle(self, *args: object, **kwargs: object) -> Unreplayable:
            return Unreplayable()

    sequence = Sequence(1, 1, Family.WIFI_CLOUD, DeviceSetup(), (), 0)
    execution = Execution(sequence, runs=["run-a"])
    gathering = SimpleNamespace(temporal=Temporal(), execution=execution)

    snapshot = await SequenceRun._progress_or_replay_failure(gathering, "wf", "run-a")  # type: ignore[arg-type]

    assert snapshot is None
    assert [v.key for v in check_replays(execution)] == ["I6/wifi-cloud"]


def test_a_cancel_answered_503_must_have_changed_nothing() -> None:
    def cancel(status: int, code: str | None) -> ActionRecord:
        answer = Answer(status, code, problem=status >= 300)
        return ActionRecord(Action(1, ActionKind.CANCEL), Observation(0.0, "run-a"), answer)

    sequence = Sequence(1, 1, Family.HTTP_WIFI, DeviceSetup(), (), 0)
    refused = cancel(503, "TEMPORAL_UNAVAILABLE")
    untouched = Execution(sequence, records=[refused], runs=["run-a"])
    cancelled_anyway = Execution(
        sequence, records=[refused], runs=["run-a"], cancel_requests={"run-a": "…"}
    )
    tried_again = Execution(
        sequence,
        records=[refused, cancel(202, None)],
        runs=["run-a"],
        cancel_requests={"run-a": "…"},
    )

    assert check_answers(untouched) == []
    assert check_refused_cancels(untouched) == []
    assert [v.key for v in check_refused_cancels(cancelled_anyway)] == [
        "API/cancel/503-took-effect"
    ]
    assert check_refused_cancels(tried_again) == []


def test_a_cloud_credential_an_earlier_run_named_as_left_behind_is_not_the_records() -> None:
    """531611350/67: a run ended ROLLBACK_FAILED naming its cloud registration; the retry
    that followed SUCCEEDED, and the earlier run's credential is still active (a person's
    job, as the leftover says). The record IN_SERVICE is judged without it."""
    sequence = Sequence(531611350, 67, Family.WIFI_CLOUD, DeviceSetup(), (), 0)
    extra = f"{EXTRA_CREDENTIALS}the cloud holds 2 active credentials for it"
    failed = RunEnd(
        "run-a",
        {"state": "FAILED", "error_code": "ROLLBACK_FAILED", "leftovers": [CLOUD_COMPENSATION]},
        [],
    )
    succeeded = RunEnd("run-b", {"state": "SUCCEEDED"}, [extra])

    def final(*ends: RunEnd, problems: list[str]) -> Execution:
        return Execution(
            sequence,
            runs=[end.run_id for end in ends],
            ends={end.run_id: end for end in ends},
            final_record={"state": "IN_SERVICE", "network_ssid": "devprov-lab"},
            final_world=(problems, [], "…"),
        )

    assert check_final_record(final(failed, succeeded, problems=[extra])) == []
    assert [v.key for v in check_final_record(final(succeeded, problems=[extra]))] == [
        "I10/wifi-cloud/IN_SERVICE"
    ]
    missing = "the cloud holds no active credential for it"
    assert [v.key for v in check_final_record(final(failed, succeeded, problems=[missing]))] == [
        "I10/wifi-cloud/IN_SERVICE"
    ]


# ---------------------------------------------------------------------- with worker crashes


async def _kill_workers_now_and_then(stack: ChaosStack, rng: random.Random, kills: list[str]):
    """SIGKILL the central and the edge worker in turn, every few seconds; start each
    again soon (in turn: a random pick left one run with 2 central kills in 15)."""
    for turn in itertools.count():
        await asyncio.sleep(rng.uniform(2.0, 6.0))
        name = ("central", "edge")[turn % 2]
        worker = stack.workers[name]
        outages = CENTRAL_WORKER_OUTAGES if name == "central" else EDGE_WORKER_OUTAGES
        loop = asyncio.get_running_loop()
        worker.kill()
        kills.append(name)
        outages.killed(loop.time())
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        worker.start()
        await worker.wait_ready()
        outages.back(loop.time())


def _check_with_crashes(execution: Execution) -> list[Violation]:
    # While a worker is down the API answers 503 TEMPORAL_UNAVAILABLE, as documented.
    return check(execution, extra_answers=frozenset({(503, "TEMPORAL_UNAVAILABLE")}))


@contextlib.asynccontextmanager
async def _chaos_stack(tmp_path: Path) -> AsyncIterator[ChaosStack]:
    stack = ChaosStack(
        tmp=tmp_path / "stack",
        devices=[],
        cloud_config=CloudConfig(auto_checkin_delay=0.3),
        policy_env=explorer_policy_env(DeviceSetup()),
    )
    try:
        await stack.start()
        yield stack
    finally:
        await stack.close()


@pytest.mark.timeout(7200)
async def test_every_run_keeps_the_promise_when_workers_are_killed(
    tmp_path: Path, process_explorer_settings: ExplorerSettings
) -> None:
    settings = process_explorer_settings
    if settings.sequences == 0 and settings.replay is None:
        pytest.skip("runs in `make chaos` (DEVPROV_EXPLORER_PROCESS_SEQUENCES)")
    planned = [s for s in settings.planned() if s.family in PROCESS_FAMILIES]
    if not planned:
        pytest.skip("the replayed sequence is of a family the process variant does not run")
    kills: list[str] = []
    async with _chaos_stack(tmp_path) as stack:
        killer = asyncio.create_task(
            _kill_workers_now_and_then(stack, random.Random(f"kills/{settings.seed}"), kills)
        )

        def on_stack(sequence: Sequence) -> contextlib.AbstractAsyncContextManager[World]:
            return open_chaos_world(sequence, stack)

        try:
            report = await explore(
                settings, on_stack, _check_with_crashes, families=PROCESS_FAMILIES
            )
        finally:
            killer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await killer
            CENTRAL_WORKER_OUTAGES.clear()
            EDGE_WORKER_OUTAGES.clear()

    print(f"worker kills: {len(kills)} ({', '.join(kills)})")
    print(report.describe())
    assert kills, "no worker was killed: the sequences ended too soon"
    assert not report.findings, report.describe()
