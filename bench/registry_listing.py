"""Registry listings at 100,000 records: what an inventory page costs on SQLite.

    .venv/bin/python -m bench.registry_listing --records 100000 --queries 200

Fills a registry (a SQLite file in a temporary directory, migrated as `make run` does)
with `--records` devices over several tenants, sites, states and networks, then
measures, alternating in rounds so that neither side gets a warmer cache:

- **registry**: `DeviceRegistry.list` with a filter (tenant, and each of state, site,
  network in turn), first pages and pages further on (through their cursors);
- **baseline**: the same SELECT through SQLAlchemy Core on the same database (the
  registry's `Database`, one unit of work per page), without the registry's record
  models — what the database itself costs.

Prints p50 and p95 per side, their spread over the rounds (min to max of each round's
p95) and the ratio registry/baseline. The target (issue 18): p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, insert, select

from domain.registry import DeviceFilter, DeviceState
from registry import open_registry
from registry.store import DEVICES

TENANTS = ("acme", "globex", "initech", "umbrella")
SITES = tuple(f"site-{n:02d}" for n in range(20))
NETWORKS = tuple(f"net-{n:02d}" for n in range(10))
STATES = (DeviceState.IN_SERVICE,) * 6 + (
    DeviceState.UNPROVISIONED,
    DeviceState.FAILED,
    DeviceState.DECOMMISSIONED,
)
PAGE = 100


def _rows(records: int, rng: random.Random) -> list[dict[str, object]]:
    stamp = datetime.now(UTC)
    return [
        {
            "device_id": f"device-{n:06d}",
            "tenant": rng.choice(TENANTS),
            "state": rng.choice(STATES).value,
            "strategy": "http-wifi",
            "vendor": "shelly",
            "model": "SNSW-001P16EU",
            "site": rng.choice(SITES),
            "network_ssid": rng.choice(NETWORKS),
            "address": f"http://10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
            "cloud_thing": None,
            "cloud_certificate_id": None,
            "cloud_certificate_fingerprint": None,
            "zigbee_ieee": None,
            "zigbee_nwk": None,
            "run_kind": "provision",
            "workflow_id": f"provision-device-{n:06d}",
            "run_id": f"run-{n}",
            "claimed_at": stamp,
            "claimed_from": None,
            "updated_at": stamp,
            "version": 2,
        }
        for n in range(records)
    ]


def _filters(rng: random.Random) -> DeviceFilter:
    tenant = rng.choice(TENANTS)
    kind = rng.randrange(3)
    if kind == 0:
        return DeviceFilter(tenant=tenant, state=DeviceState.IN_SERVICE)
    if kind == 1:
        return DeviceFilter(tenant=tenant, site=rng.choice(SITES))
    return DeviceFilter(tenant=tenant, network_ssid=rng.choice(NETWORKS))


def _p(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def main(records: int, queries: int, rounds: int) -> None:
    rng = random.Random(18)
    with tempfile.TemporaryDirectory(prefix="devprov-registry-bench-") as home:
        registry = await open_registry(f"sqlite+aiosqlite:///{Path(home) / 'registry.db'}")
        database = registry.database  # the same database for the baseline
        started = time.perf_counter()
        rows = _rows(records, rng)

        def fill(connection: Connection) -> None:
            for start in range(0, records, 5_000):
                connection.execute(insert(DEVICES), rows[start : start + 5_000])

        await database.transaction(fill)
        print(f"filled {records} records in {time.perf_counter() - started:.1f} s")

        async def registry_query(where: DeviceFilter, deep: bool) -> None:
            page = await registry.list(where, limit=PAGE)
            if deep and page.next_cursor:
                await registry.list(where, limit=PAGE, cursor=page.next_cursor)

        async def baseline_query(where: DeviceFilter, deep: bool) -> None:
            query = select(DEVICES).order_by(DEVICES.c.device_id).limit(PAGE + 1)
            for name, value in where.model_dump(exclude_none=True).items():
                query = query.where(DEVICES.c[name] == str(value))

            def pages(connection: Connection) -> None:
                found = connection.execute(query).all()
                if deep and found:
                    last = found[min(PAGE, len(found)) - 1].device_id
                    more = query.where(DEVICES.c.device_id > last)
                    connection.execute(more).all()

            await database.read(pages)

        sides = {"registry": registry_query, "baseline": baseline_query}
        timings: dict[str, list[float]] = {side: [] for side in sides}
        round_p95: dict[str, list[float]] = {side: [] for side in sides}
        for round_ in range(rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            plan = [(_filters(rng), rng.random() < 0.5) for _ in range(queries)]
            for side in order:
                these = []
                for where, deep in plan:
                    begun = time.perf_counter()
                    await sides[side](where, deep)
                    these.append((time.perf_counter() - begun) * 1000)
                timings[side] += these
                round_p95[side].append(_p(these, 0.95))
        await registry.close()

    print(f"{records} records, {queries} queries x {rounds} rounds (alternated), page {PAGE}")
    print(f"{'side':10} {'p50 ms':>8} {'p95 ms':>8} {'p95 spread':>16}")
    for side in sides:
        spread = f"{min(round_p95[side]):.1f}-{max(round_p95[side]):.1f}"
        print(
            f"{side:10} {statistics.median(timings[side]):8.2f} "
            f"{_p(timings[side], 0.95):8.2f} {spread:>16}"
        )
    ratio = _p(timings["registry"], 0.95) / _p(timings["baseline"], 0.95)
    target = "met" if _p(timings["registry"], 0.95) < 100 else "NOT met"
    print(f"p95 registry/baseline: {ratio:.2f}; target p95 < 100 ms: {target}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.records, arguments.queries, arguments.rounds))
