"""Where the registry's units of work run: one hop off the event loop per transaction.

Every store of the registry writes each of its operations as a plain function of a
SQLAlchemy `Connection` (sync Core) and hands it to `Database.transaction` or
`Database.read`, which run it where it costs least:

- **SQLite**: on a sync engine (pysqlite, the `sqlite3` module) in a thread of the
  registry's own, the whole transaction in one hop. Through aiosqlite every statement
  went to its connection's thread and back three or four times (cursor, execute, fetch,
  close), with commit and the pool's reset on top: about 3 ms of event-loop CPU per
  device's claim, outcome and read, against under 0.2 ms this way.
- **PostgreSQL**: on the async engine (asyncpg is async already), the same function
  through `AsyncConnection.run_sync`, SQLAlchemy's way to run sync code on an async
  connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

T = TypeVar("T")

SQLITE_THREADS = 4
"""Threads (and pooled connections) of a pooled SQLite registry. SQLite has one writer
at a time; more threads would mostly wait in `busy_timeout`."""
THREAD_NAME = "registry-sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA busy_timeout=30000")  # writers queue instead of failing
    cursor.close()


async def _in_own_thread(work: Callable[[], T]) -> T:
    """`work()` in a thread started for it, which ends with it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.cancelled():
            outcome()

    def run() -> None:
        outcome: Callable[[], None]
        try:
            result = work()
        except BaseException as error:  # handed to the awaiting coroutine
            failure = error
            outcome = lambda: done.set_exception(failure)  # noqa: E731
        else:
            outcome = lambda: done.set_result(result)  # noqa: E731
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, outcome)

    # Not a daemon: the interpreter waits for a unit of work to end (a few ms) at exit.
    threading.Thread(target=run, name=f"{THREAD_NAME}-once").start()
    return await done


class Database:
    """The registry's database, shared by its stores.

    Args:
        url: `sqlite:///<path>` (`sqlite+aiosqlite:///<path>` too: the driver part is
            ignored, SQLite always runs on `sqlite3`) or `postgresql+asyncpg://…`.
        pooled: Keep connections (and, on SQLite, threads) between uses. A registry
            opened with `pooled=False` opens a connection per use and keeps none; on
            SQLite each unit of work then runs in a thread started for it that ends
            with it, so a registry that is never closed (a throwaway one) leaves no
            thread behind — an executor's idle threads would stay until it is shut
            down, a few per registry. (Not `asyncio.to_thread` either: the loop's
            default executor keeps its threads until the loop closes.)

    A unit of work whose caller is cancelled still runs to its end in its thread
    (committed or rolled back): like a process that dies after the commit, which the
    registry's idempotent claims and outcomes are made for.
    """

    def __init__(self, url: str, *, pooled: bool = True) -> None:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._async_engine: AsyncEngine | None = None
        self._memory_lock: threading.Lock | None = None
        if sqlite:
            memory = parsed.database in (None, "", ":memory:")
            sync_url = parsed.set(drivername="sqlite")
            threads = 1 if memory else SQLITE_THREADS
            if memory:  # one database per connection: keep the one, use it in turn
                self._memory_lock = threading.Lock()
                self._engine = create_engine(
                    sync_url, poolclass=StaticPool, connect_args={"check_same_thread": False}
                )
            elif pooled:
                # One connection per thread: a unit of work never waits for the pool.
                # No pre-ping: a SQLite file cannot drop a connection.
                self._engine = create_engine(sync_url, pool_size=threads, max_overflow=0)
            else:
                self._engine = create_engine(sync_url, poolclass=NullPool)
            event.listen(self._engine, "connect", _sqlite_pragmas)
            if pooled:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=threads, thread_name_prefix=THREAD_NAME
                )
        else:
            # A server may drop a pooled connection (restart, idle timeout): ask it first.
            self._async_engine = (
                create_async_engine(url, pool_pre_ping=True)
                if pooled
                else create_async_engine(url, poolclass=NullPool)
            )
            self._engine = self._async_engine.sync_engine

    @property
    def engine(self) -> Engine:
        """The sync engine (on PostgreSQL, the async engine's `sync_engine`): for event
        listeners, not to connect with."""
        return self._engine

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one transaction: committed when it returns, rolled back
        when it raises (the exception is the caller's)."""
        if self._async_engine is not None:
            async with self._async_engine.begin() as connection:
                return await connection.run_sync(work)
        return await self._in_thread(self._begin, work)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` on a connection of its own, nothing committed."""
        if self._async_engine is not None:
            async with self._async_engine.connect() as connection:
                return await connection.run_sync(work)
        return await self._in_thread(self._connect, work)

    async def close(self) -> None:
        """Dispose of the connections; on SQLite, end the threads (once their work is
        done: the wait happens off the event loop). Used again after, it still works,
        as a disposed engine does: on SQLite each unit of work then in a thread of its
        own, as with `pooled=False`."""
        if self._async_engine is not None:
            await self._async_engine.dispose()
            return
        executor, engine = self._executor, self._engine
        self._executor = None

        def shut() -> None:
            if executor is not None:
                executor.shutdown(wait=True)
            engine.dispose()

        await _in_own_thread(shut)

    def _begin(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    def _connect(self, work: Callable[[Connection], T]) -> T:
        with self._engine.connect() as connection:
            return work(connection)

    async def _in_thread(
        self,
        how: Callable[[Callable[[Connection], T]], T],
        work: Callable[[Connection], T],
    ) -> T:
        def unit() -> T:
            if self._memory_lock is None:
                return how(work)
            with self._memory_lock:
                return how(work)

        if self._executor is None:
            return await _in_own_thread(unit)
        return await asyncio.get_running_loop().run_in_executor(self._executor, unit)


def database_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for a server or `:memory:`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
