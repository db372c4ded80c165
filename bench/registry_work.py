"""What a provisioning run costs the registry, against the same-I/O baseline's writes.

    .venv/bin/python -m bench.registry_work --devices 400 --rounds 6

On a registry as `make run` has it (a SQLite file, one pooled engine, the registry's own
threads), `--devices` devices at once, in alternated rounds:

- **devprov**: what `bench.pipeline`'s devprov runs ask of the registry — a start's read
  (`registry.start_facts`), a claim and an outcome (`record_run_outcome`);
- **raw-io**: what its same-I/O baseline does instead — two rows written with Python's
  `sqlite3` in a thread (`bench.raw_temporal`'s `registry_write`: claim and outcome).

Prints this process's CPU per device (the event loop and the threads together), median
and min-max of the rounds, and devprov's three steps apart. No Temporal, no network:
the registry alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.raw_temporal import RegistryWrite, _write_row
from bench.stack import bench_registry
from domain.registry import DeviceClaim, DeviceFacts, Outcome, RunKind, RunOutcome
from registry import DeviceRegistry
from registry.start_facts import read_start_facts

TENANT = "bench"


def _claim(device_id: str) -> DeviceClaim:
    return DeviceClaim(
        device_id=device_id,
        tenant=TENANT,
        kind=RunKind.PROVISION,
        workflow_id=f"provision-{device_id}",
        run_id=f"run-{device_id}",
        strategy="http-wifi",
        vendor="shelly",
        model="SNSW-001P16EU",
        site="bench",
    )


def _outcome(device_id: str) -> RunOutcome:
    return RunOutcome(
        device_id=device_id, run_id=f"run-{device_id}", outcome=Outcome.DONE, facts=DeviceFacts()
    )


async def _cpu_ms_per_device(work: Callable[[str], Awaitable[object]], ids: list[str]) -> float:
    started = time.process_time()
    await asyncio.gather(*(work(device_id) for device_id in ids))
    return (time.process_time() - started) * 1000 / len(ids)


async def run(devices: int, rounds: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"devprov": [], "raw-io": [], "start": [], "claim": []}
    figures["outcome"] = []
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        async with bench_registry(Path(tmp)) as registry:
            raw_path = str(Path(tmp) / "raw-registry.db")

            async def devprov(device_id: str) -> None:
                await read_start_facts(registry.database, TENANT, device_id)
                await registry.claim(_claim(device_id))
                await registry.record_run_outcome(_outcome(device_id))

            async def raw_io(device_id: str) -> None:
                for state in ("PROVISIONING", "IN_SERVICE"):
                    write = RegistryWrite(path=raw_path, device_id=device_id, state=state)
                    await asyncio.to_thread(_write_row, write)

            for r in range(-1, rounds):  # a warm-up round, not counted
                sides = [("devprov", devprov), ("raw-io", raw_io)]
                for kind, work in sides if r % 2 == 0 else sides[::-1]:
                    ids = [f"{kind}-{r}-{n:05d}" for n in range(devices)]
                    spent = await _cpu_ms_per_device(work, ids)
                    if r >= 0:
                        figures[kind].append(spent)
                if r >= 0:
                    await _steps(registry, [f"s-{r}-{n:05d}" for n in range(devices)], figures)
    return figures


async def _steps(registry: DeviceRegistry, ids: list[str], figures: dict[str, list[float]]) -> None:
    """devprov's three steps apart, each for every device at once."""
    figures["start"].append(
        await _cpu_ms_per_device(lambda d: read_start_facts(registry.database, TENANT, d), ids)
    )
    figures["claim"].append(await _cpu_ms_per_device(lambda d: registry.claim(_claim(d)), ids))
    figures["outcome"].append(
        await _cpu_ms_per_device(lambda d: registry.record_run_outcome(_outcome(d)), ids)
    )


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    figures = asyncio.run(run(args.devices, args.rounds))
    print(f"{args.devices} devices at once, {args.rounds} rounds alternated; CPU ms a device")
    for kind in ("devprov", "raw-io"):
        print(f"  {kind:<8} {_spread(figures[kind])}")
    steps = ", ".join(f"{step} {_spread(figures[step])}" for step in ("start", "claim", "outcome"))
    print(f"  devprov's steps: {steps}")


if __name__ == "__main__":
    main()
