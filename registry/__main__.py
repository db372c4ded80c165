"""`python -m registry upgrade`: bring the registry's schema up to date, then exit.

Deployments run it once per release, as a job, before the API and the central workers
start (deploy/compose: `registry-migrate`; deploy/kubernetes: `registry-migrate-job.yaml`).
The database is `DEVPROV_REGISTRY_URL` (default: the SQLite file under the data
directory). The processes that open the registry also bring it up to date, so a stack
without the job still works; the job makes the upgrade one step, with one log, that
nothing else races.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.engine import make_url

from config.settings import Settings
from registry.store import open_registry, schema_revision


async def _upgrade(url: str) -> str:
    registry = await open_registry(url, pooled=False)
    try:
        return await schema_revision(registry)
    finally:
        await registry.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m registry", description=__doc__.split("\n", maxsplit=1)[0]
    )
    parser.add_argument("command", choices=["upgrade"])
    parser.parse_args(argv)
    url = Settings.from_env().registry_url
    # The URL may hold the database's password: name the database, not the URL.
    where = make_url(url).render_as_string(hide_password=True)
    try:
        revision = asyncio.run(_upgrade(url))
    except Exception as error:
        print(
            f"registry upgrade failed on {where}: {type(error).__name__}: {error}", file=sys.stderr
        )
        return 1
    print(f"registry at {where}: schema revision {revision} (up to date)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
