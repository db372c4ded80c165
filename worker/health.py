"""`/healthz` and `/readyz` of a standalone worker process, for orchestrators' probes.

Liveness answers from the worker's own event loop, so a blocked loop fails it.
Readiness needs every worker of the process to be polling and Temporal to answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from aiohttp import web
from temporalio.client import Client
from temporalio.worker import Worker

READINESS_TIMEOUT = timedelta(seconds=2)


def create_health_app(client: Client, workers: Sequence[Worker]) -> web.Application:
    """The probe endpoints of a process running `workers` against `client`."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        stopped = [w.task_queue for w in workers if not w.is_running or w.is_shutdown]
        try:
            serving = await client.service_client.check_health(timeout=READINESS_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception:
            serving = False
        body = {
            "status": "ready" if serving and not stopped else "not ready",
            "temporal": "serving" if serving else "unavailable",
            "task_queues": sorted(w.task_queue for w in workers),
            "stopped": stopped,
        }
        return web.json_response(body, status=200 if serving and not stopped else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/readyz", readyz, allow_head=False)
    return app


@contextlib.asynccontextmanager
async def serve_health(
    client: Client, workers: Sequence[Worker], host: str, port: int | None
) -> AsyncIterator[None]:
    """Serve the probes on `host:port` while inside the block (nothing when port is None)."""
    if port is None:
        yield
        return
    runner = web.AppRunner(create_health_app(client, workers), shutdown_timeout=0.5)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield
    finally:
        await runner.cleanup()
