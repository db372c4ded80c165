"""Central worker: runs every strategy workflow on task queue `provisioning`.

`python -m worker.central`
"""

from __future__ import annotations

import asyncio
import logging

from config.settings import Settings
from worker.edge import run_until_signalled
from worker.logging_setup import configure_logging
from worker.temporal_client import connect
from worker.workers import central_worker


async def main() -> None:
    configure_logging(logging.INFO)
    client = await connect(Settings.from_env())
    await run_until_signalled(central_worker(client))


if __name__ == "__main__":
    asyncio.run(main())
