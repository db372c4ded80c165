"""Pipeline throughput and API start latency, each against raw Temporal in the same run.

    .venv/bin/python -m bench.pipeline --runs 200 --starts 300

Starts its own dev server (SQLite file, WAL pragmas, as `make run`), the HTTP device
simulator with devices that answer at once as a process of its own (a device is another
machine: its CPU is not devprov's), a central and an edge worker and the API, all on
loopback, with encrypted payloads as in production. Then:

- **pipeline throughput**: `--runs` HTTP Wi-Fi runs started through the API at once,
  until every one has SUCCEEDED, against as many plain workflows of four trivial
  activities on the same kind of queues (detect, read state, apply, confirm), started
  with the SDK; both sides wait for their results the same way, after a warm-up of a
  tenth as many runs of each kind. A second baseline makes
  the same workflows record a state in a search attribute before each step and at the
  end, as devprov does (visibility writes are the server's largest extra cost). The CPU
  time each side costs per run, in this process (workers, API) and in the server, says
  where the difference goes.
- **API start**: `--starts` sequential `POST /devices/{id}/provision` → 202, against
  as many `start_workflow` calls of the SDK with the same client (converter, codec).

Prints a table, writes JSON (`--json`, default `bench/results/pipeline.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from bench.processes import http_device_simulator
from bench.raw_temporal import STATE, RawPipeline, RawPipelineRun, raw_step
from bench.stack import free_port, start_bench_api
from config.settings import (
    EdgeSettings,
    HttpWifiSettings,
    Settings,
    TemporalSettings,
    WorkerSettings,
)
from worker.dev_server import start_dev_server
from worker.edge import edge_node
from worker.workers import central_worker

SITE = "bench"
BODY = {
    "device": {"type": "wifi-relay", "vendor": "shelly", "capabilities": ["wifi", "http-rpc"]},
    "network": {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"},
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _devprov_pipeline(
    http: httpx.AsyncClient, api: str, client: Client, ids: list[str]
) -> float:
    body = {**BODY, "device": {**BODY["device"], "site": SITE}}  # type: ignore[dict-item]
    started_at = time.perf_counter()
    responses = await asyncio.gather(
        *(http.post(f"{api}/api/v1/devices/{d}/provision", json=body) for d in ids)
    )
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses[:3]]
    await asyncio.gather(*(client.get_workflow_handle(f"provision-{d}").result() for d in ids))
    return time.perf_counter() - started_at


async def _raw_pipeline(client: Client, ids: list[str], *, state_updates: bool) -> float:
    started_at = time.perf_counter()
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                RawPipelineRun.run,
                RawPipeline(device_id=d, steps=4, queue="raw-edge", state_updates=state_updates),
                id=f"raw-{'sa-' if state_updates else ''}{d}",
                task_queue="raw-central",
                search_attributes=TypedSearchAttributes([SearchAttributePair(STATE, "PENDING")]),
            )
            for d in ids
        )
    )
    await asyncio.gather(*(h.result() for h in handles))
    return time.perf_counter() - started_at


async def _api_starts(http: httpx.AsyncClient, api: str, ids: list[str]) -> list[float]:
    # Devices no simulator knows: each run waits for its device, cheaply, on durable timers.
    body = {**BODY, "device": {**BODY["device"], "site": "elsewhere"}}  # type: ignore[dict-item]
    latencies = []
    for device_id in ids:
        started_at = time.perf_counter()
        response = await http.post(f"{api}/api/v1/devices/{device_id}/provision", json=body)
        latencies.append(time.perf_counter() - started_at)
        assert response.status_code == 202, response.text
    return latencies


async def _sdk_starts(client: Client, ids: list[str]) -> list[float]:
    latencies = []
    for device_id in ids:
        started_at = time.perf_counter()
        await client.start_workflow(
            RawPipelineRun.run,
            RawPipeline(device_id=device_id, steps=0, queue="raw-edge"),
            id=f"sdk-start-{device_id}",
            task_queue="raw-central",
        )
        latencies.append(time.perf_counter() - started_at)
    return latencies


class CpuClock:
    """CPU seconds (user + system) spent so far by this process and by the server."""

    def __init__(self, server_pid: int) -> None:
        self._processes = (psutil.Process(), psutil.Process(server_pid))

    def read(self) -> tuple[float, float]:
        bench, server = (p.cpu_times() for p in self._processes)
        return bench.user + bench.system, server.user + server.system


def _per_run_ms(before: tuple[float, float], after: tuple[float, float], runs: int) -> list[float]:
    return [round((b - a) * 1000 / runs, 1) for a, b in zip(before, after, strict=True)]


async def run(runs: int, starts: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        server = await start_dev_server(data_dir=Path(tmp), port=free_port(), ui_port=None)
        cpu = CpuClock(server.process.pid)
        prefix = uuid.uuid4().hex[:6]
        ids = [f"p{prefix}-{n:05d}" for n in range(runs)]
        warm_up_ids = [f"w{prefix}-{n:05d}" for n in range(max(10, runs // 10))]
        start_ids = [f"s{prefix}-{n:05d}" for n in range(starts)]
        try:
            async with http_device_simulator(ids + warm_up_ids, 0.0, Path(tmp)) as simulator_url:
                settings = Settings(
                    temporal=TemporalSettings.defaults(address=server.address),
                    http_wifi=HttpWifiSettings.defaults(
                        address_template=f"{simulator_url}/devices/{{device_id}}"
                    ),
                    edge=EdgeSettings.defaults(capabilities=("http-wifi",)),
                    worker=WorkerSettings.defaults(data_dir=Path(tmp)),
                )
                client, api = await start_bench_api(settings)
                try:
                    async with (
                        httpx.AsyncClient(timeout=120, trust_env=False) as http,
                        central_worker(client),
                        edge_node(client, settings, site=SITE, host="gw1"),
                        Worker(
                            client,
                            task_queue="raw-central",
                            workflows=[RawPipelineRun],
                            activities=[raw_step],
                        ),
                        Worker(client, task_queue="raw-edge", activities=[raw_step]),
                    ):
                        # Neither side pays the first imports, caches and connections.
                        await _devprov_pipeline(http, api.url, client, warm_up_ids)
                        await _raw_pipeline(client, warm_up_ids, state_updates=True)
                        cpu_start = cpu.read()
                        devprov_seconds = await _devprov_pipeline(http, api.url, client, ids)
                        cpu_devprov = cpu.read()
                        raw_seconds = await _raw_pipeline(client, ids, state_updates=False)
                        cpu_raw = cpu.read()
                        raw_sa_seconds = await _raw_pipeline(client, ids, state_updates=True)
                        cpu_raw_sa = cpu.read()
                        sdk = await _sdk_starts(client, start_ids)
                        via_api = await _api_starts(http, api.url, start_ids)
                finally:
                    await api.close()
        finally:
            await server.stop()
    api_p50, api_p99 = _percentile(via_api, 0.5), _percentile(via_api, 0.99)
    sdk_p50, sdk_p99 = _percentile(sdk, 0.5), _percentile(sdk, 0.99)
    return {
        "runs": runs,
        "devprov_runs_per_second": round(runs / devprov_seconds, 2),
        "raw_runs_per_second": round(runs / raw_seconds, 2),
        "throughput_ratio": round(raw_seconds / devprov_seconds, 3),
        "throughput_target": ">= 0.9",
        "devprov_cpu_ms_per_run": dict(
            zip(("bench", "server"), _per_run_ms(cpu_start, cpu_devprov, runs), strict=True)
        ),
        "raw_cpu_ms_per_run": dict(
            zip(("bench", "server"), _per_run_ms(cpu_devprov, cpu_raw, runs), strict=True)
        ),
        "raw_with_state_updates_runs_per_second": round(runs / raw_sa_seconds, 2),
        "throughput_ratio_same_visibility": round(raw_sa_seconds / devprov_seconds, 3),
        "raw_with_state_updates_cpu_ms_per_run": dict(
            zip(("bench", "server"), _per_run_ms(cpu_raw, cpu_raw_sa, runs), strict=True)
        ),
        "starts": starts,
        "api_start_p50_ms": round(api_p50 * 1000, 1),
        "api_start_p99_ms": round(api_p99 * 1000, 1),
        "sdk_start_p50_ms": round(sdk_p50 * 1000, 1),
        "sdk_start_p99_ms": round(sdk_p99 * 1000, 1),
        "api_start_mean_ms": round(statistics.mean(via_api) * 1000, 1),
        "start_p50_ratio": round(api_p50 / sdk_p50, 2),
        "start_p99_ratio": round(api_p99 / sdk_p99, 2),
        "start_target": "<= 1.5",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def table(result: dict[str, object]) -> str:
    rows = [
        ("pipeline throughput (runs/s)", result["devprov_runs_per_second"],
         result["raw_runs_per_second"], result["throughput_ratio"], ">= 0.9"),
        ("  raw + same state updates", result["devprov_runs_per_second"],
         result["raw_with_state_updates_runs_per_second"],
         result["throughput_ratio_same_visibility"], ""),
        ("API start p50 (ms)", result["api_start_p50_ms"], result["sdk_start_p50_ms"],
         result["start_p50_ratio"], "<= 1.5"),
        ("API start p99 (ms)", result["api_start_p99_ms"], result["sdk_start_p99_ms"],
         result["start_p99_ratio"], "<= 1.5"),
    ]  # fmt: skip
    lines = [f"{'figure':<30} {'devprov':>10} {'raw':>10} {'ratio':>7} {'target':>8}"]
    lines += [f"{a:<30} {b!s:>10} {c!s:>10} {d!s:>7} {e:>8}" for a, b, c, d, e in rows]
    lines.append("CPU ms per run (bench = workers and API, in this process; server):")
    for side in ("devprov", "raw", "raw_with_state_updates"):
        lines.append(f"  {side:<24} {result[side + '_cpu_ms_per_run']}")
    lines.append(f"load average at the end: {result['load_average']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--starts", type=int, default=300)
    parser.add_argument("--json", type=Path, default=Path("bench/results/pipeline.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.starts))
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
