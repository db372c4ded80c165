"""Where the registry's units of work run: on SQLite, off the event loop in one hop per
transaction, in threads that go with the registry (or with the unit of work itself, for
a registry that is never closed); on both databases, all or nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, select

from domain.registry import DeviceClaim, DeviceFacts, DeviceFilter, Outcome, RunKind, RunOutcome
from registry import DeviceRegistry, open_registry
from registry.database import SQLITE_THREADS, THREAD_NAME
from registry.store import DEVICES

DEVICE = "shelly-plus1-kitchen"


def claim(run: str, device: str = DEVICE) -> DeviceClaim:
    return DeviceClaim(
        device_id=device,
        tenant="acme",
        kind=RunKind.PROVISION,
        workflow_id=f"provision-{device}",
        run_id=run,
        strategy="http-wifi",
    )


def done(run: str, device: str = DEVICE) -> RunOutcome:
    return RunOutcome(
        device_id=device,
        run_id=run,
        outcome=Outcome.DONE,
        facts=DeviceFacts(network_ssid="home-net"),
    )


async def a_device_s_runs(registry: DeviceRegistry, device: str = DEVICE) -> None:
    """The three transactions of a device's run: its claim, its outcome, a read."""
    await registry.claim(claim(f"run-{device}", device))
    await registry.record_outcome(done(f"run-{device}", device))
    await registry.get(device, "acme")


def statement_threads(registry: DeviceRegistry) -> list[threading.Thread]:
    """The thread of every statement the registry runs from now on."""
    seen: list[threading.Thread] = []

    def before(*_: Any) -> None:
        seen.append(threading.current_thread())

    event.listen(registry.database.engine, "before_cursor_execute", before)
    return seen


@pytest.fixture
async def executor_hops(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The executors the running event loop hands work to, one entry per hop."""
    loop = asyncio.get_running_loop()
    hops: list[object] = []
    real = loop.run_in_executor

    def counted(executor: Any, work: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        hops.append(executor)
        return real(executor, work, *args)

    monkeypatch.setattr(loop, "run_in_executor", counted)
    return hops


def new_threads(before: set[threading.Thread], within: float = 2.0) -> list[str]:
    """The threads alive now that were not before, once those that are ending have
    ended (`within` seconds at most)."""
    deadline = time.monotonic() + within
    while True:
        alive = [t.name for t in threading.enumerate() if t not in before]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.01)


async def test_a_pooled_sqlite_registry_runs_each_transaction_off_the_loop_in_one_hop(
    tmp_path: Path, executor_hops: list[object]
) -> None:
    before = set(threading.enumerate())
    registry = await open_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}")
    threads = statement_threads(registry)
    executor_hops.clear()  # the migration's

    await a_device_s_runs(registry)

    assert len(executor_hops) == 3, executor_hops  # claim, outcome, get: one hop each
    assert len(set(map(id, executor_hops))) == 1  # the registry's executor
    assert threads, "no statement seen"
    assert threading.current_thread() not in threads  # nothing on the event loop's thread
    assert {t.name.rsplit("_", 1)[0] for t in threads} == {THREAD_NAME}
    assert len(set(threads)) <= SQLITE_THREADS
    assert all(t.is_alive() for t in threads)  # kept: a pooled registry reuses them

    await registry.close()

    assert new_threads(before) == []
    assert not any(t.is_alive() for t in threads)
    # Used after close() (as a disposed engine could be), it leaves no thread either.
    assert (await registry.get(DEVICE)).network_ssid == "home-net"
    assert new_threads(before) == []


async def test_concurrent_transactions_of_a_pooled_registry_share_its_few_threads(
    tmp_path: Path,
) -> None:
    registry = await open_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}")
    threads = statement_threads(registry)
    try:
        await asyncio.gather(*(a_device_s_runs(registry, f"device-{n}") for n in range(40)))
        page = await registry.list(DeviceFilter(tenant="acme"), limit=100)
    finally:
        await registry.close()

    assert len(page.devices) == 40
    assert 1 <= len(set(threads)) <= SQLITE_THREADS


async def test_a_registry_never_closed_leaves_no_thread_behind(tmp_path: Path) -> None:
    """`pooled=False` (throwaway registries, the migration job): each unit of work runs
    in a thread of its own that ends with it."""
    before = set(threading.enumerate())
    registry = await open_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}", pooled=False)
    threads = statement_threads(registry)

    await a_device_s_runs(registry)
    await asyncio.gather(*(a_device_s_runs(registry, f"device-{n}") for n in range(5)))

    assert threads
    assert threading.current_thread() not in threads
    assert {t.name for t in threads} == {f"{THREAD_NAME}-once"}
    assert new_threads(before) == []
    # (Never closed: the test ends with the registry still open.)


async def test_a_cancelled_caller_does_not_cut_a_transaction_short(tmp_path: Path) -> None:
    """On SQLite the unit of work goes on in its thread: committed whole (a claim is then
    there for the retried activity, as after a crash past the commit), never half."""
    registry = await open_registry(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}")
    await registry.claim(claim("run-1"))
    started, release = threading.Event(), threading.Event()

    def slow_move(connection: Connection) -> None:
        connection.execute(DEVICES.update().values(site="moving"))
        started.set()
        release.wait(5)
        connection.execute(DEVICES.update().values(site="moved"))

    try:
        task = asyncio.ensure_future(registry.database.transaction(slow_move))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        deadline = time.monotonic() + 5
        while (await registry.get(DEVICE)).site != "moved" and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert (await registry.get(DEVICE)).site == "moved"
    finally:
        release.set()
        await registry.close()


async def test_a_unit_of_work_that_raises_writes_nothing(registry: DeviceRegistry) -> None:
    await registry.claim(claim("run-1"))

    def half_done(connection: Connection) -> None:
        connection.execute(DEVICES.update().values(site="moved"))
        raise LookupError("changed its mind")

    with pytest.raises(LookupError):
        await registry.database.transaction(half_done)

    sites = await registry.database.read(
        lambda connection: connection.execute(select(DEVICES.c.site)).scalars().all()
    )
    assert sites == [""]


async def test_registries_opened_at_once_on_several_threads_each_get_their_schema(
    tmp_path: Path,
) -> None:
    """Alembic's context is process-global: SQLite upgrades run in the registries' own
    threads, so registries opened at once by several event loops (each its thread)
    migrate one at a time too."""

    def open_and_claim(n: int) -> str:
        async def run() -> str:
            url = f"sqlite+aiosqlite:///{tmp_path / f'r{n}' / 'registry.db'}"
            registry = await open_registry(url)
            try:
                await registry.claim(claim(f"run-{n}"))
                return str((await registry.get(DEVICE, "acme")).run_id)
            finally:
                await registry.close()

        return asyncio.run(run())

    runs = await asyncio.gather(*(asyncio.to_thread(open_and_claim, n) for n in range(6)))

    assert runs == [f"run-{n}" for n in range(6)]


@pytest.mark.parametrize("pooled", [True, False])
async def test_an_in_memory_registry_is_one_database_whatever_the_thread(pooled: bool) -> None:
    registry = await open_registry("sqlite:///:memory:", pooled=pooled)
    try:
        await asyncio.gather(*(a_device_s_runs(registry, f"device-{n}") for n in range(8)))
        page = await registry.list(DeviceFilter(tenant="acme"))
    finally:
        await registry.close()

    assert [d.device_id for d in page.devices] == [f"device-{n}" for n in range(8)]
