"""`python -m registry upgrade`, the deployments' migration job, on both databases."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import uuid
from pathlib import Path

import asyncpg

from tests.registry.conftest import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


async def upgrade(url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry",
        "upgrade",
        cwd=ROOT,
        env={**os.environ, "DEVPROV_REGISTRY_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_job_migrates_a_new_sqlite_database_to_the_latest_schema(tmp_path: Path) -> None:
    database = tmp_path / "registry" / "registry.db"

    code, output = await upgrade(f"sqlite+aiosqlite:///{database}")
    again, _ = await upgrade(f"sqlite+aiosqlite:///{database}")

    assert (code, again) == (0, 0), output
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version")
    assert {"devices", "idempotency_keys"} <= tables
    assert f"schema revision {revision}" in output


async def test_the_job_migrates_postgresql_and_never_prints_the_password(
    postgres_server: PostgresServer,
) -> None:
    database = f"job_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(
        host=postgres_server.host, port=postgres_server.port, user="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.execute("ALTER USER postgres PASSWORD 'pw-s3cret-Zq'")
    finally:
        await admin.close()
    url = postgres_server.url(database).replace("postgres@", "postgres:pw-s3cret-Zq@")

    code, output = await upgrade(url)
    refused, failure = await upgrade(url.replace(str(postgres_server.port), "1"))

    assert code == 0, output
    connection = await asyncpg.connect(
        host=postgres_server.host, port=postgres_server.port, user="postgres", database=database
    )
    try:
        tables = {r["tablename"] for r in await connection.fetch("SELECT tablename FROM pg_tables")}
        revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    assert {"devices", "idempotency_keys"} <= tables
    assert f"schema revision {revision}" in output
    assert refused == 1
    assert "registry upgrade failed" in failure
    assert "pw-s3cret-Zq" not in output + failure
