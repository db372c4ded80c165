"""Edge worker: hosts the device-facing activities of one site, near the devices.

Run one per gateway: `python -m worker.edge --site <site> --host <name>`. It polls two
task queues with the same activities: `edge.<site>`, shared by every gateway of the
site (detection goes there), and `edge.<site>.<host>`, its own (a run whose device this
gateway detected sends every later step there).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from config.settings import Settings
from config.startup import run_service
from connection.temporal_client import connect_when_reachable
from domain.run import edge_task_queue
from worker.capabilities import EdgeContext, SimulatedWorld
from worker.families import selected_capabilities
from worker.health import serve_health
from worker.logging_setup import configure_logging
from worker.observability import serve_worker_metrics
from worker.systemd_notify import systemd_service
from worker.workers import edge_worker

logger = logging.getLogger("devprov.worker.edge")


@contextlib.asynccontextmanager
async def edge_node(
    client: Client,
    settings: Settings,
    *,
    site: str,
    host: str,
    world: SimulatedWorld | None = None,
) -> AsyncIterator[list[Worker]]:
    """Run the edge workers of gateway `host` of `site` while inside the block."""
    context = EdgeContext(
        settings=settings,
        site=site,
        host=host,
        data_dir=settings.data_dir / "edge" / site / host,
        world=world or SimulatedWorld(),
    )
    async with contextlib.AsyncExitStack() as stack:
        activities: list[object] = []
        for name, capability in selected_capabilities(settings).items():
            logger.info("edge %s/%s: opening %s", site, host, name)
            activities += await stack.enter_async_context(capability(context))
        workers = [
            edge_worker(
                client,
                task_queue=queue,
                activities=activities,
                graceful_shutdown_timeout=timedelta(
                    seconds=settings.worker.graceful_shutdown_seconds
                ),
            )
            for queue in (edge_task_queue(site), context.host_task_queue)
        ]
        for worker in workers:
            await stack.enter_async_context(worker)
        yield workers


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", default=None, help="site served (default: $DEVPROV_SITE)")
    parser.add_argument("--host", default=None, help="gateway name (default: $DEVPROV_EDGE_HOST)")
    args = parser.parse_args()
    settings = Settings.from_env()
    configure_logging(audit_log=settings.worker.audit_log)
    serve_worker_metrics(settings)
    client = await connect_when_reachable(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    site, host = args.site or settings.edge.site, args.host or settings.edge.host
    async with (
        edge_node(client, settings, site=site, host=host) as workers,
        serve_health(client, workers, settings.metrics.host, settings.worker.health_port),
        systemd_service(),
    ):
        logger.info("edge worker %s of site %s is polling", host, site)
        await stop.wait()
        logger.info("stopping: finishing the activities in flight")


if __name__ == "__main__":
    run_service(main)
