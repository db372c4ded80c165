"""Edge worker: hosts the device-facing activities of one site.

Run on a gateway near the devices: `python -m worker.edge --site <site>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.http_wifi import ShellyRpcAdapter
from config.settings import Settings
from worker.logging_setup import configure_logging
from worker.temporal_client import connect
from worker.workers import edge_activities, edge_worker

logger = logging.getLogger("devprov.worker.edge")


@contextlib.asynccontextmanager
async def edge_worker_for(client: Client, settings: Settings, site: str) -> AsyncIterator[Worker]:
    """An edge worker of `site` with its adapters; closes them when leaving."""
    # trust_env=False: a proxy set for the internet must not capture local device traffic.
    async with httpx.AsyncClient(
        timeout=settings.http_device_timeout_seconds, trust_env=False
    ) as http:
        wifi_setup = ShellyRpcAdapter(
            http,
            address_template=settings.http_device_address_template,
            timeout=settings.http_device_timeout_seconds,
        )
        yield edge_worker(client, site=site, activities=edge_activities(wifi_setup))


async def run_until_signalled(worker: Worker) -> None:
    """Run `worker` until SIGINT/SIGTERM, then shut it down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logger.info("worker polling task queue %s", worker.task_queue)
        await stop.wait()
        logger.info("stopping: finishing the activities in flight")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", default=None, help="site served (default: $DEVPROV_SITE)")
    args = parser.parse_args()
    configure_logging(logging.INFO)
    settings = Settings.from_env()
    client = await connect(settings)
    async with edge_worker_for(client, settings, args.site or settings.site) as worker:
        await run_until_signalled(worker)


if __name__ == "__main__":
    asyncio.run(main())
