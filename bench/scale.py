"""Scale: worker memory against runs in flight, and against fleets in flight, in one run.

    .venv/bin/python -m bench.scale --runs 250,500,1000,2000 --fleets 1,5,10,20 --fleet-size 50

Starts its own dev server (SQLite file with the WAL pragmas, as `make run`), the HTTP
device simulator and the API in this process, and the workers as processes of their own
through their real entry points (`python -m worker.central`, `python -m worker.edge`), so
that their memory can be read apart. Each phase gets fresh worker processes, warms them
up with a few runs that succeed, and takes their idle RSS (nothing in flight) as its
baseline. Then, step by step, it adds work that stays open cheaply and, once all of it
waits (visibility count) and after a settling pause, takes the median of a few RSS
samples of each process, the central worker's workflow cache size (the SDK's
`sticky_cache_size`), and times progress queries of random runs in flight, sorted by
whether the worker answered from its cache or had to replay the run (a cache miss).

- **raw**: plain workflows waiting on an activity no one polls, in a worker with the same
  SDK and sandbox settings (`--raw-worker`): what any cached workflow costs;
- **runs**: HTTP Wi-Fi runs started through the API without network credentials: each
  detects its device and waits in `PENDING_NETWORK` on one durable timer. KB per run
  against idle and between steps, against the raw KB per run of the same step;
- **fleets**: `POST /fleets/{id}/provision` of fleets of `--fleet-size` such devices, all
  children at once (limits = fleet size): KB per fleet and per child.

The central worker keeps temporalio's default `max_cached_workflows` (1000): past it,
runs are evicted, memory nearly stops growing and the cost moves to replays (the
query columns). Prints tables, writes JSON (`--json`, default `bench/results/scale.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.processes import Workers, devprov_worker_commands, worker_processes
from bench.raw_temporal import RawPipeline, RawPipelineRun, raw_step
from bench.stack import free_port, start_bench_api
from config.settings import Settings, TemporalSettings, WorkerSettings
from connection.temporal_client import connect
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from worker.dev_server import DevServer, start_dev_server
from worker.workers import WORKFLOW_RUNNER

WORKFLOW_CACHE = 1000
"""temporalio's default `max_cached_workflows`; `worker.workers.central_worker` keeps it."""
DEVICE = {"type": "wifi-relay", "vendor": "shelly", "capabilities": ["wifi", "http-rpc"]}
NETWORK = {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"}
WARM_UP = 10
RAW_QUEUE = "raw-central"


@dataclass
class Stack:
    client: Client
    http: httpx.AsyncClient
    api: str
    server: DevServer
    devices: WifiDeviceFleet
    tmp: Path
    simulator_url: str
    samples: int
    settle: float
    probes: int


def _rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    tree = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in tree) / 2**20


async def _sdk_metrics(stack: Stack, workers: Workers) -> dict[str, float]:
    """The central worker's SDK metrics, summed over labels, without `temporal_`."""
    found: dict[str, float] = {}
    for line in (await stack.http.get(workers.metrics_url)).text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0].removeprefix("temporal_")
            found[name] = found.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return found


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def _wait_for(client: Client, query: str, expected: int, timeout: float) -> float:
    started_at = time.perf_counter()
    while (count := await _count(client, query)) < expected:
        if time.perf_counter() - started_at > timeout:
            raise SystemExit(f"only {count}/{expected} reached `{query}` in {timeout:.0f}s")
        await asyncio.sleep(1.0)
    return time.perf_counter() - started_at


def _waiting(site: str) -> str:
    return (
        f"Site = '{site}' AND ProvisioningState = 'PENDING_NETWORK' AND ExecutionStatus = 'Running'"
    )


async def _measure(stack: Stack, workers: Workers) -> dict[str, Any]:
    await asyncio.sleep(stack.settle)
    pids = {name: process.pid for name, process in workers.processes.items()}
    pids["server"] = stack.server.process.pid
    samples: dict[str, list[float]] = {name: [] for name in pids}
    for _ in range(stack.samples):
        for name, pid in pids.items():
            samples[name].append(_rss_mb(pid))
        await asyncio.sleep(1.0)
    metrics = await _sdk_metrics(stack, workers)
    cache = {k: v for k, v in metrics.items() if k.startswith("sticky_cache")}
    return {
        **{f"{name}_rss_mb": round(statistics.median(v), 1) for name, v in samples.items()},
        "cached_workflows": cache.get("sticky_cache_size"),
        "cache_metrics": cache,
    }


def _misses(metrics: dict[str, float]) -> float:
    prefixes = ("sticky_cache_miss", "sticky_cache_total_forced_eviction")
    return sum(v for k, v in metrics.items() if k.startswith(prefixes))


async def _probe(stack: Stack, workers: Workers, device_ids: list[str]) -> dict[str, Any]:
    """Progress queries (`GET /devices/{id}/provision`) of random runs in flight, sorted
    by whether the worker answered from its cache or had to replay the run (a cache miss
    while the query ran), with the mean ms of each and their ratio."""
    chosen = random.Random(len(device_ids)).sample(device_ids, min(stack.probes, len(device_ids)))
    latencies: dict[str, list[float]] = {"cached": [], "replayed": []}
    for device_id in chosen:
        before = _misses(await _sdk_metrics(stack, workers))
        started_at = time.perf_counter()
        response = await stack.http.get(f"{stack.api}/api/v1/devices/{device_id}/provision")
        elapsed = time.perf_counter() - started_at
        assert response.status_code == 200, response.text
        after = _misses(await _sdk_metrics(stack, workers))
        latencies["replayed" if after > before else "cached"].append(elapsed * 1000)
    means = {k: round(statistics.mean(v), 1) if v else None for k, v in latencies.items()}
    cached, replayed = means["cached"], means["replayed"]
    return {
        "replayed": f"{len(latencies['replayed'])}/{len(chosen)}",
        "query_cached_ms": cached,
        "query_replayed_ms": replayed,
        "replayed_over_cached": round(replayed / cached, 2) if cached and replayed else None,
    }


def _add_devices(stack: Stack, ids: list[str]) -> None:
    for device_id in ids:
        stack.devices.add(SimulatedWifiDevice(device_id, join_delay=0.0))


async def _post_all(stack: Stack, urls_bodies: list[tuple[str, dict[str, Any]]]) -> None:
    gate = asyncio.Semaphore(32)

    async def post(url: str, body: dict[str, Any]) -> None:
        async with gate:
            response = await stack.http.post(f"{stack.api}/api/v1/{url}", json=body)
        assert response.status_code == 202, response.text

    await asyncio.gather(*(post(url, body) for url, body in urls_bodies))


def _device(site: str) -> dict[str, Any]:
    return {**DEVICE, "site": site}


def _fleet_body(site: str, ids: list[str], network: bool) -> dict[str, Any]:
    size = len(ids)
    return {
        "template": _device(site),
        "limits": {"max_in_flight": size, "per_site": size, "per_vendor": size},
        "devices": [{"device_id": d} for d in ids],
    } | ({"network": NETWORK} if network else {})


def _with_ratios(idle: dict[str, Any], step: dict[str, Any], per: dict[str, int]) -> None:
    """Growth over idle, per unit (KB), and RSS / idle, added to `step`."""
    for proc in [k.removesuffix("_rss_mb") for k in idle if k.endswith("_rss_mb")]:
        grown = step[f"{proc}_rss_mb"] - idle[f"{proc}_rss_mb"]
        step[f"{proc}_growth_mb"] = round(grown, 1)
        step[f"{proc}_rss_over_idle"] = round(step[f"{proc}_rss_mb"] / idle[f"{proc}_rss_mb"], 2)
        for unit, count in per.items():
            step[f"{proc}_kb_per_{unit}"] = round(grown * 1024 / count, 1) if count else None


def _incremental(steps: list[dict[str, Any]], count: str, unit: str, idle_mb: float) -> None:
    """Central KB per `unit` between a step and the one before (0 once memory plateaus)."""
    before, before_mb = 0, idle_mb
    for step in steps:
        added, grown = step[count] - before, step["central_rss_mb"] - before_mb
        step[f"central_kb_per_{unit}_step"] = round(grown * 1024 / added, 1) if added else None
        before, before_mb = step[count], step["central_rss_mb"]


async def _warm_up(stack: Stack, site: str, fleet: bool) -> None:
    """Runs that succeed, so the idle baseline includes every lazy import and cache."""
    ids = [f"w{site}-{n:03d}" for n in range(WARM_UP)]
    _add_devices(stack, ids)
    body = {"device": _device(site), "network": NETWORK}
    await _post_all(stack, [(f"devices/{d}/provision", body) for d in ids])
    if fleet:
        fleet_ids = [f"wf{site}-{n:03d}" for n in range(WARM_UP)]
        _add_devices(stack, fleet_ids)
        body = _fleet_body(site, fleet_ids, network=True)
        await _post_all(stack, [(f"fleets/warm-{site}/provision", body)])
    done = f"Site = '{site}' AND ProvisioningState = 'SUCCEEDED'"
    await _wait_for(stack.client, done, WARM_UP * (2 if fleet else 1), timeout=120)
    if fleet:  # the children and the fleet itself
        closed = f"FleetId = 'warm-{site}' AND ExecutionStatus = 'Completed'"
        await _wait_for(stack.client, closed, WARM_UP + 1, timeout=60)


@contextlib.asynccontextmanager
async def _phase_workers(
    stack: Stack, site: str, *, fleet: bool
) -> AsyncIterator[tuple[Workers, dict[str, Any]]]:
    """Fresh devprov workers for one phase, warmed up: them, and what they weigh idle."""
    async with worker_processes(
        stack.server.address, stack.tmp, stack.simulator_url, site, devprov_worker_commands(site)
    ) as workers:
        await _warm_up(stack, site, fleet=fleet)
        yield workers, await _measure(stack, workers)


async def runs_phase(stack: Stack, sizes: list[int]) -> dict[str, Any]:
    site = "scale-runs"
    async with _phase_workers(stack, site, fleet=False) as (workers, idle):
        steps: list[dict[str, Any]] = []
        ids: list[str] = []
        for size in sizes:
            new = [f"r{n:05d}" for n in range(len(ids), size)]
            _add_devices(stack, new)
            started_at = time.perf_counter()
            body = {"device": _device(site)}
            await _post_all(stack, [(f"devices/{d}/provision", body) for d in new])
            ids += new
            await _wait_for(stack.client, _waiting(site), size, timeout=120 + size / 5)
            seconds = time.perf_counter() - started_at
            step: dict[str, Any] = {"runs": size, "seconds_to_wait": round(seconds, 1)}
            step |= await _measure(stack, workers)
            step |= await _probe(stack, workers, ids)
            _with_ratios(idle, step, {"run": size})
            steps.append(step)
            print(f"runs {size}: central {step['central_rss_mb']} MB", flush=True)
    _incremental(steps, "runs", "run", idle["central_rss_mb"])
    return {"idle": idle, "steps": steps}


async def fleets_phase(stack: Stack, sizes: list[int], fleet_size: int) -> dict[str, Any]:
    site = "scale-fleets"
    async with _phase_workers(stack, site, fleet=True) as (workers, idle):
        steps: list[dict[str, Any]] = []
        children: list[str] = []
        for fleets in sizes:
            posts = []
            for fleet in range(len(children) // fleet_size, fleets):
                ids = [f"f{fleet:03d}-{n:04d}" for n in range(fleet_size)]
                _add_devices(stack, ids)
                children += ids
                posts.append((f"fleets/scale-{fleet:03d}/provision", _fleet_body(site, ids, False)))
            started_at = time.perf_counter()
            await _post_all(stack, posts)
            total = fleets * fleet_size
            await _wait_for(stack.client, _waiting(site), total, timeout=120 + total / 5)
            seconds = time.perf_counter() - started_at
            step: dict[str, Any] = {"fleets": fleets, "children": total}
            step["seconds_to_wait"] = round(seconds, 1)
            step |= await _measure(stack, workers)
            step |= await _probe(stack, workers, children)
            _with_ratios(idle, step, {"fleet": fleets, "child": total})
            steps.append(step)
            print(f"fleets {fleets}: central {step['central_rss_mb']} MB", flush=True)
    _incremental(steps, "children", "child", idle["central_rss_mb"])
    return {"idle": idle, "steps": steps, "fleet_size": fleet_size}


async def raw_phase(stack: Stack, sizes: list[int]) -> dict[str, Any]:
    """The same steps with plain workflows waiting on an activity nobody polls, in a
    worker with the same SDK and sandbox settings: what any cached workflow costs."""
    workers_spec = {"central": ["bench.scale", "--raw-worker"]}
    async with worker_processes(
        stack.server.address, stack.tmp, stack.simulator_url, "raw", workers_spec
    ) as workers:

        async def start(n: int, steps: int) -> Any:
            pipeline = RawPipeline(device_id=f"raw-{n:05d}", steps=steps, queue="raw-nowhere")
            return await stack.client.start_workflow(
                RawPipelineRun.run, pipeline, id=f"raw-{n:05d}", task_queue=RAW_QUEUE
            )

        warm = await asyncio.gather(*(start(-n - 1, 0) for n in range(WARM_UP)))
        await asyncio.gather(*(handle.result() for handle in warm))
        idle = await _measure(stack, workers)
        tasks = _workflow_tasks(await _sdk_metrics(stack, workers))
        steps: list[dict[str, Any]] = []
        for size in sizes:
            done = steps[-1]["runs"] if steps else 0
            await asyncio.gather(*(start(n, 1) for n in range(done, size)))
            # One workflow task each: wait until the worker has run them all.
            for _ in range(1200):
                if _workflow_tasks(await _sdk_metrics(stack, workers)) >= tasks + size:
                    break
                await asyncio.sleep(0.5)
            else:
                raise SystemExit(f"the raw worker did not run {size} workflow tasks in 600s")
            step: dict[str, Any] = {"runs": size} | await _measure(stack, workers)
            _with_ratios(idle, step, {"run": size})
            steps.append(step)
            print(f"raw {size}: worker {step['central_rss_mb']} MB", flush=True)
    _incremental(steps, "runs", "run", idle["central_rss_mb"])
    return {"idle": idle, "steps": steps}


def _workflow_tasks(metrics: dict[str, float]) -> float:
    return sum(
        v for k, v in metrics.items() if k.startswith("workflow_task_execution_latency_count")
    )


async def raw_worker() -> None:
    """The raw baseline's worker, a process: `python -m bench.scale --raw-worker`."""
    client = await connect(Settings.from_env())
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    runner = SandboxedWorkflowRunner(
        restrictions=WORKFLOW_RUNNER.restrictions.with_passthrough_modules("bench")
    )
    workflows, activities = [RawPipelineRun], [raw_step]
    async with Worker(
        client, task_queue=RAW_QUEUE, workflows=workflows, activities=activities,
        workflow_runner=runner,
    ):  # fmt: skip
        print("raw worker polling", flush=True)
        await stop.wait()


async def run(
    runs: list[int], fleets: list[int], fleet_size: int, samples: int, settle: float, probes: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp_name:
        tmp = Path(tmp_name)
        server = await start_dev_server(data_dir=tmp, port=free_port(), ui_port=None)
        try:
            devices = WifiDeviceFleet()
            simulator = await start_simulator(devices, "127.0.0.1", 0)
            settings = Settings(
                temporal=TemporalSettings.defaults(address=server.address),
                worker=WorkerSettings.defaults(data_dir=tmp),
            )
            client, api = await start_bench_api(settings)
            try:
                async with httpx.AsyncClient(timeout=120, trust_env=False) as http:
                    stack = Stack(
                        client, http, api.url, server, devices, tmp, simulator.base_url,
                        samples, settle, probes,
                    )  # fmt: skip
                    result: dict[str, Any] = {"workflow_cache_cap": WORKFLOW_CACHE}
                    if runs:
                        result["raw"] = await raw_phase(stack, runs)
                        result["runs"] = await runs_phase(stack, runs)
                    if fleets:
                        result["fleets"] = await fleets_phase(stack, fleets, fleet_size)
            finally:
                await api.close()
                await simulator.close()
        finally:
            await server.stop()
    for step, raw in zip(
        result.get("runs", {}).get("steps", []), result.get("raw", {}).get("steps", []), strict=True
    ):
        step["raw_kb_per_run"] = raw["central_kb_per_run"]
        ratio = step["central_kb_per_run"] / raw["central_kb_per_run"]
        step["kb_per_run_over_raw"] = round(ratio, 2)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "-" if value is None else str(value)


def _columns(units: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(header, key) of a phase's table; `unit` is what the slopes are per."""
    unit = units[-1][1]
    columns = [(count, count) for count, _ in units]
    columns += [("central MB", "central_rss_mb"), ("+MB", "central_growth_mb")]
    columns += [(f"KB/{u}", f"central_kb_per_{u}") for _, u in units]
    columns += [(f"KB/{unit} step", f"central_kb_per_{unit}_step")]
    columns += [("raw KB/run", "raw_kb_per_run"), ("x raw", "kb_per_run_over_raw")]
    columns += [("x idle", "central_rss_over_idle"), ("cached", "cached_workflows")]
    columns += [("edge MB", "edge_rss_mb"), ("server MB", "server_rss_mb")]
    columns += [(f"srv KB/{unit}", f"server_kb_per_{unit}"), ("replayed", "replayed")]
    columns += [("query ms", "query_cached_ms"), ("replay ms", "query_replayed_ms")]
    return [*columns, ("x", "replayed_over_cached")]


def table(result: dict[str, Any]) -> str:
    lines = []
    phases = {
        "raw": [("runs", "run")],
        "runs": [("runs", "run")],
        "fleets": [("fleets", "fleet"), ("children", "child")],
    }
    for phase, units in phases.items():
        if phase not in result:
            continue
        columns = [c for c in _columns(units) if phase == "runs" or "raw" not in c[0]]
        idle = result[phase]["idle"] | {"central_growth_mb": 0, "central_rss_over_idle": 1.0}
        idle |= {count: 0 for count, _ in units}
        cells = [[h for h, _ in columns]]
        cells += [[_fmt(row.get(k)) for _, k in columns] for row in [idle, *result[phase]["steps"]]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        title = {"raw": "raw Temporal (baseline)", "runs": "devprov runs", "fleets": "fleets"}
        lines.append(f"{title[phase]}: worker process RSS against what is in flight")
        lines += [" ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
        lines.append("")
    lines.append(
        f"workflow cache cap (max_cached_workflows): {result['workflow_cache_cap']}; "
        f"load average at the end: {result['load_average']}"
    )
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip() and int(x) > 0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=_sizes, default="250,500,1000,2000")
    parser.add_argument("--fleets", type=_sizes, default="1,5,10,20")
    parser.add_argument("--fleet-size", type=int, default=50)
    parser.add_argument("--samples", type=int, default=5, help="RSS samples per step (median)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before sampling")
    parser.add_argument("--probes", type=int, default=40, help="progress queries per step")
    parser.add_argument("--json", type=Path, default=Path("bench/results/scale.json"))
    parser.add_argument("--raw-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_worker:
        asyncio.run(raw_worker())
        return
    result = asyncio.run(
        run(args.runs, args.fleets, args.fleet_size, args.samples, args.settle, args.probes)
    )
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
