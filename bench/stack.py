"""Pieces every benchmark starts the same way: a free port, and the API on a client."""

from __future__ import annotations

import socket

from temporalio.client import Client

from api import ApiDependencies, ApiServer, start_api
from config.policies import load_policy_book
from config.settings import Settings
from connection.temporal_client import connect
from strategies.catalog import build_registry


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_bench_api(settings: Settings) -> tuple[Client, ApiServer]:
    """A client with encrypted payloads, as in production (the codec's cost is part of
    every figure), and the API on it at a free port; close the API when done."""
    client = await connect(settings, create_keys=True)
    api = await start_api(
        ApiDependencies(
            temporal=client,
            registry=build_registry(),
            policies=load_policy_book(environ={}),
            settings=settings,
        ),
        "127.0.0.1",
        0,
    )
    return client, api
