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

import httpx
from pydantic import SecretStr

from activities.vendor_cloud import VendorCloudActivities
from adapters.vendor_cloud import VendorCloudAdapter
from config.settings import Settings
from connection.temporal_client import connect_when_reachable
from worker.health import serve_health
from worker.logging_setup import configure_logging
from worker.observability import serve_worker_metrics
from worker.systemd_notify import systemd_service
from worker.workers import central_worker

logger = logging.getLogger("devprov.worker.central")


@contextlib.asynccontextmanager
async def central_activities(settings: Settings) -> AsyncIterator[list[object]]:
    """The central activities wired to the vendor cloud of `settings`; closes its client."""
    async with httpx.AsyncClient(trust_env=False) as http:
        cloud = VendorCloudAdapter(http, settings.cloud.base_url, SecretStr(settings.cloud.api_key))
        yield VendorCloudActivities(cloud, SecretStr(settings.cloud.claim_token)).all()


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
        central_worker(
            client,
            activities=activities,
            graceful_shutdown_timeout=timedelta(seconds=settings.worker.graceful_shutdown_seconds),
        ) as worker,
        serve_health(client, [worker], settings.metrics.host, settings.worker.health_port),
        systemd_service(),
    ):
        logger.info("central worker polling task queue %s", worker.task_queue)
        await stop.wait()
        logger.info("stopping: finishing the workflow tasks in flight")


if __name__ == "__main__":
    asyncio.run(main())
