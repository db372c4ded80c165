"""Central worker: runs every strategy workflow on task queue `provisioning`.

`python -m worker.central`
"""

from __future__ import annotations

import asyncio
import logging
import signal

from config.settings import Settings
from worker.logging_setup import configure_logging
from worker.observability import serve_worker_metrics
from worker.temporal_client import connect
from worker.workers import central_worker

logger = logging.getLogger("devprov.worker.central")


async def main() -> None:
    configure_logging()
    settings = Settings.from_env()
    serve_worker_metrics(settings)
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with central_worker(client) as worker:
        logger.info("central worker polling task queue %s", worker.task_queue)
        await stop.wait()
        logger.info("stopping: finishing the workflow tasks in flight")


if __name__ == "__main__":
    asyncio.run(main())
