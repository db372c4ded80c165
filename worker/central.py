"""Central worker: runs every strategy workflow, and the vendor-cloud activities, on task
queue `provisioning`.

`python -m worker.central`
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from config.settings import Settings
from config.startup import run_service
from connection.temporal_client import connect_when_reachable
from registry import opened_registry
from worker.families import central_activities as families_central_activities
from worker.health import serve_health
from worker.logging_setup import configure_logging
from worker.observability import serve_worker_metrics
from worker.systemd_notify import systemd_service
from worker.workers import central_worker

logger = logging.getLogger("devprov.worker.central")


@contextlib.asynccontextmanager
async def central_activities(settings: Settings) -> AsyncIterator[list[object]]:
    """Every installed family's central activities (the vendor cloud's), their
    resources open while inside the block."""
    async with contextlib.AsyncExitStack() as stack:
        activities: list[object] = []
        for family, open_activities in families_central_activities().items():
            logger.info("central: opening %s", family)
            activities += await stack.enter_async_context(open_activities(settings))
        yield activities


async def main() -> None:
    settings = Settings.from_env()
    configure_logging(audit_log=settings.worker.audit_log)
    serve_worker_metrics(settings)
    client = await connect_when_reachable(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with (
        central_activities(settings) as activities,
        opened_registry(settings.registry_url) as devices,
        central_worker(
            client,
            activities=activities,
            registry=devices,
            webhooks=settings.webhooks,
            graceful_shutdown_timeout=timedelta(seconds=settings.worker.graceful_shutdown_seconds),
        ) as worker,
        serve_health(client, [worker], settings.metrics.host, settings.worker.health_port),
        systemd_service(),
    ):
        logger.info("central worker polling task queue %s", worker.task_queue)
        await stop.wait()
        logger.info("stopping: finishing the workflow tasks in flight")


if __name__ == "__main__":
    run_service(main)
