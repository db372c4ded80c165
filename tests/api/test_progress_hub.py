"""The progress hub: one poller per run, shared by its subscribers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from api.problems import ApiError
from api.streams import ProgressHub
from domain.errors import ErrorCode
from domain.progress import ProgressEvent, ProgressSnapshot
from domain.states import ProvisioningState, Step
from tests.api.conftest import ApiClient, provision_body, run_path, wait_for_state
from tests.fakes import FakeWifiDevice

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _snapshot(*states: ProvisioningState) -> ProgressSnapshot:
    events = [
        ProgressEvent(sequence=i, state=s, step=Step.START, message=s.value, updated_at=NOW)
        for i, s in enumerate(states, start=1)
    ]
    return ProgressSnapshot(
        workflow_id="provision-d1",
        device_id="d1",
        strategy="http-wifi",
        state=states[-1],
        step=Step.START,
        message="",
        updated_at=NOW,
        events=events,
    )


class FakeRun:
    """A run whose snapshots a test scripts; counts the queries per workflow id."""

    def __init__(self, *snapshots: ProgressSnapshot) -> None:
        self.snapshots = list(snapshots)
        self.queries: Counter[str] = Counter()

    async def fetch(self, workflow_id: str, run_id: str | None = None) -> ProgressSnapshot:
        self.queries[workflow_id] += 1
        if len(self.snapshots) > 1:
            return self.snapshots.pop(0)
        return self.snapshots[0]


async def test_subscribers_of_one_run_share_a_single_poller() -> None:
    run = FakeRun(_snapshot(ProvisioningState.PENDING))
    hub = ProgressHub(run.fetch, interval=0.01)

    async with hub.subscribe("provision-d1") as first, hub.subscribe("provision-d1") as second:
        assert (await first.next()) == (await second.next())
        await asyncio.sleep(0.1)
        assert hub.active_pollers == 1
        queries = run.queries["provision-d1"]

    # 0.1 s at 0.01 s a query, and a few sooner right after the first answer.
    assert 5 <= queries <= 20
    assert hub.active_pollers == 0


class TimedRun(FakeRun):
    """A scripted run that also notes when each query came."""

    def __init__(self, *snapshots: ProgressSnapshot) -> None:
        super().__init__(*snapshots)
        self.times: list[float] = []

    async def fetch(self, workflow_id: str, run_id: str | None = None) -> ProgressSnapshot:
        self.times.append(asyncio.get_running_loop().time())
        return await super().fetch(workflow_id, run_id)


async def test_a_run_that_just_moved_is_asked_again_soon_and_a_still_one_at_the_interval() -> None:
    moving = _snapshot(ProvisioningState.PENDING, ProvisioningState.DETECTING)
    run = TimedRun(_snapshot(ProvisioningState.PENDING), moving)
    hub = ProgressHub(run.fetch, interval=1.0)

    async with hub.subscribe("provision-d1") as subscription:
        await subscription.next()
        assert (await subscription.next()) == moving
        while len(run.times) < 5:
            await asyncio.sleep(0.05)

    gaps = [later - earlier for earlier, later in zip(run.times, run.times[1:], strict=False)]
    # After each change 0.2 s, then 0.4, 0.8, and the interval while nothing changes.
    assert gaps[0] < 0.6
    assert gaps[1] < 0.6
    assert gaps[3] >= 0.7


async def test_polling_stops_when_the_last_subscriber_leaves() -> None:
    run = FakeRun(_snapshot(ProvisioningState.PENDING))
    hub = ProgressHub(run.fetch, interval=0.01)
    async with hub.subscribe("provision-d1") as subscription:
        await subscription.next()

    queries = run.queries["provision-d1"]
    await asyncio.sleep(0.05)

    assert run.queries["provision-d1"] == queries


async def test_subscribers_get_each_change_and_the_end_after_a_terminal_state() -> None:
    pending = _snapshot(ProvisioningState.PENDING)
    detecting = _snapshot(ProvisioningState.PENDING, ProvisioningState.DETECTING)
    done = _snapshot(
        ProvisioningState.PENDING, ProvisioningState.DETECTING, ProvisioningState.SUCCEEDED
    )
    run = FakeRun(pending, pending, detecting, done)
    hub = ProgressHub(run.fetch, interval=0.01)

    async with hub.subscribe("provision-d1") as subscription:
        seen = [await subscription.next() for _ in range(4)]

    assert seen == [pending, detecting, done, None]
    assert hub.active_pollers == 0


async def test_a_missing_run_fails_the_first_read() -> None:
    async def missing(workflow_id: str, run_id: str | None) -> ProgressSnapshot:
        raise ApiError(404, ErrorCode.RUN_NOT_FOUND, "no run")

    hub = ProgressHub(missing, interval=0.01)

    async with hub.subscribe("provision-d1") as subscription:
        with pytest.raises(ApiError) as error:
            await subscription.next()

    assert error.value.code is ErrorCode.RUN_NOT_FOUND


async def test_each_run_of_a_workflow_id_has_its_own_poller() -> None:
    # A retry after a run ended starts a new run under the same workflow id, numbering
    # its events from 1 again (issue 15, case 4): a subscriber of the first run sees
    # that run's end, one of the new run sees the new run only.
    cancelled = _snapshot(
        ProvisioningState.PENDING, ProvisioningState.PENDING_NETWORK, ProvisioningState.CANCELLED
    )
    waiting = _snapshot(ProvisioningState.PENDING, ProvisioningState.PENDING_NETWORK)
    runs = {"run-1": cancelled, "run-2": waiting}
    asked: list[str | None] = []

    async def fetch(workflow_id: str, run_id: str | None) -> ProgressSnapshot:
        asked.append(run_id)
        return runs[run_id or "run-2"]

    hub = ProgressHub(fetch, interval=0.01)
    async with (
        hub.subscribe("provision-d1", "run-1") as first,
        hub.subscribe("provision-d1", "run-2") as second,
    ):
        assert await first.next() == cancelled
        assert await first.next() is None
        assert await second.next() == waiting
        assert hub.active_pollers == 1

    assert set(asked) == {"run-1", "run-2"}


async def test_closing_the_hub_ends_every_subscription() -> None:
    hub = ProgressHub(FakeRun(_snapshot(ProvisioningState.PENDING)).fetch, interval=0.01)

    async with hub.subscribe("provision-d1") as subscription:
        await subscription.next()
        await hub.close()
        assert await subscription.next() is None


async def test_streams_of_one_run_share_a_poller_that_stops_when_clients_disconnect(
    api: ApiClient, workers: FakeWifiDevice, device_id: str, site: str
) -> None:
    await api.post(run_path(device_id), json=provision_body(site, network=False))
    await wait_for_state(api, device_id, "PENDING_NETWORK")

    streams = [await api.get(run_path(device_id, "events")) for _ in range(3)]
    try:
        assert await _pollers(api) == 1
    finally:
        for stream in streams:
            stream.close()

    async with asyncio.timeout(10):
        while True:
            if await _pollers(api) == 0:
                break
            await asyncio.sleep(0.2)


async def _pollers(api: ApiClient) -> float:
    text = await (await api.get("/metrics")).text()
    [line] = [
        line for line in text.splitlines() if line.startswith("devprov_api_progress_pollers ")
    ]
    return float(line.split()[1])


async def test_a_nudged_run_is_queried_at_once_not_at_the_end_of_its_pause() -> None:
    run = FakeRun(_snapshot(ProvisioningState.PENDING_NETWORK))
    hub = ProgressHub(run.fetch, interval=3600)  # no poll of its own within the test

    async with hub.subscribe("provision-d1") as subscription:
        first = await subscription.next()
        assert first is not None
        assert first.state is ProvisioningState.PENDING_NETWORK
        run.snapshots = [_snapshot(ProvisioningState.PENDING_NETWORK, ProvisioningState.DETECTING)]
        hub.nudge("provision-d2")  # another run's action wakes nobody here
        await asyncio.sleep(0.05)
        assert run.queries["provision-d1"] == 1

        hub.nudge("provision-d1")
        moved = await asyncio.wait_for(subscription.next(), timeout=10)

    assert moved is not None
    assert moved.state is ProvisioningState.DETECTING
    assert run.queries["provision-d1"] == 2


class ChangeFeed:
    """A scripted change feed: yields once per `report()`, fails on `fail()`."""

    def __init__(self) -> None:
        self._reports: asyncio.Queue[Exception | None] = asyncio.Queue()
        self.followed: list[tuple[str, str | None]] = []

    def report(self) -> None:
        self._reports.put_nowait(None)

    def fail(self) -> None:
        self._reports.put_nowait(RuntimeError("the history long poll failed"))

    async def changes(self, workflow_id: str, run_id: str | None = None) -> AsyncIterator[None]:
        self.followed.append((workflow_id, run_id))
        while True:
            reported = await self._reports.get()
            if reported is not None:
                raise reported
            yield


async def test_a_change_the_feed_reports_is_queried_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No poll of its own within the test (an hour's interval), and a gathering pause of
    # 36 ms after each query instead of a fifth of that hour.
    monkeypatch.setattr("api.streams.FOLLOW_UP_SHARE", 0.00001)
    run = FakeRun(_snapshot(ProvisioningState.PENDING))
    feed = ChangeFeed()
    hub = ProgressHub(run.fetch, interval=3600, changes=feed.changes)

    async with hub.subscribe("provision-d1", "run-1") as subscription:
        await subscription.next()
        assert feed.followed == [("provision-d1", "run-1")]
        await asyncio.sleep(0.05)
        assert run.queries["provision-d1"] == 1  # a still run is not asked again

        run.snapshots = [_snapshot(ProvisioningState.PENDING, ProvisioningState.DETECTING)]
        feed.report()
        moved = await asyncio.wait_for(subscription.next(), timeout=10)

    assert moved is not None
    assert moved.state is ProvisioningState.DETECTING
    assert run.queries["provision-d1"] == 2


async def test_changes_reported_close_together_make_one_query() -> None:
    run = FakeRun(_snapshot(ProvisioningState.PENDING))
    feed = ChangeFeed()
    hub = ProgressHub(run.fetch, interval=0.5, changes=feed.changes)

    async with hub.subscribe("provision-d1") as subscription:
        await subscription.next()
        await asyncio.sleep(0.2)  # past the gathering pause (a fifth of the interval)
        for _ in range(3):  # three workflow tasks in a burst
            feed.report()
        await asyncio.sleep(0.2)
        assert run.queries["provision-d1"] == 2


async def test_when_the_change_feed_fails_the_poller_follows_up_by_itself() -> None:
    moving = _snapshot(ProvisioningState.PENDING, ProvisioningState.DETECTING)
    run = TimedRun(_snapshot(ProvisioningState.PENDING), moving)
    feed = ChangeFeed()
    hub = ProgressHub(run.fetch, interval=1.0, changes=feed.changes)

    async with hub.subscribe("provision-d1") as subscription:
        await subscription.next()
        feed.fail()
        # The failed feed asks for one more query, made as the gathering pause ends…
        assert (await asyncio.wait_for(subscription.next(), timeout=10)) == moving
        # …and from there the poller asks again soon after a change, on its own.
        while len(run.times) < 3:
            await asyncio.sleep(0.05)

    assert run.times[1] - run.times[0] < 0.5
    assert run.times[2] - run.times[1] < 0.5
