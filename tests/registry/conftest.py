"""The registry on both of its databases: SQLite in a temporary file, and a real
PostgreSQL server these tests start themselves (`initdb` in a temporary directory, as
the `postgres` user when run as root) and stop at the end."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from registry import DeviceRegistry, open_registry

PG_GLOB = "/usr/lib/postgresql/*/bin"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{database}"


def _pg_bin() -> Path:
    found = sorted(glob.glob(PG_GLOB)) or [
        str(Path(p).parent) for p in [shutil.which("initdb")] if p
    ]
    if not found:
        pytest.fail(
            "PostgreSQL is not installed: the registry is tested against a real server "
            "(`make test` installs Debian's postgresql; see scripts/install-postgresql.sh)"
        )
    return Path(found[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    """Run as the `postgres` user when root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = _pg_bin()
    home = Path(tempfile.mkdtemp(prefix="devprov-pg-"))
    data, sockets = home / "data", home / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        **run,  # type: ignore[call-overload]
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(binaries / "pg_ctl")
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]
        ),
        **run,  # type: ignore[call-overload]
    )
    try:
        yield PostgresServer("127.0.0.1", port)
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty database on each of the registry's databases."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'registry' / 'registry.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = f"registry_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=server.host, port=server.port, user="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    return server.url(database)


@pytest.fixture
async def registry(empty_database: str) -> AsyncIterator[DeviceRegistry]:
    """A fresh, migrated registry on each database."""
    opened = await open_registry(empty_database)
    try:
        yield opened
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(opened.close(), 10)
