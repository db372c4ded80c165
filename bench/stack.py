"""Pieces every benchmark starts the same way: a free port, the device registry, and the
API on a client."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client

from api import ApiDependencies, ApiServer, start_api
from config.policies import load_policy_book
from config.settings import Settings
from connection.temporal_client import connect
from registry import DeviceRegistry, opened_registry
from strategies.catalog import build_registry


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def bench_registry(data_dir: Path) -> AsyncIterator[DeviceRegistry]:
    """The device registry as `make run` has it: a SQLite file under the data directory,
    one pooled engine that the API and the central worker share (give it to both)."""
    async with opened_registry(f"sqlite+aiosqlite:///{data_dir / 'registry.db'}") as devices:
        yield devices


async def start_bench_api(
    settings: Settings, devices: DeviceRegistry | None = None
) -> tuple[Client, ApiServer]:
    """A client with encrypted payloads, as in production (the codec's cost is part of
    every figure), and the API on it at a free port, reading `devices` (its up-front
    checks, as `make run`'s); close the API when done."""
    client = await connect(settings, create_keys=True)
    api = await start_api(
        ApiDependencies(
            temporal=client,
            registry=build_registry(),
            policies=load_policy_book(environ={}),
            settings=settings,
            devices=devices,
        ),
        "127.0.0.1",
        0,
    )
    return client, api
