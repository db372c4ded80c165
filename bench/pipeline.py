"""Pipeline throughput and API start latency, each against raw Temporal in the same run.

    .venv/bin/python -m bench.pipeline --runs 100 --rounds 3 --starts 300

Starts its own dev server (SQLite file, WAL pragmas, as `make run`), the HTTP device
simulator with devices that answer at once as a process of its own (a device is another
machine: its CPU is not devprov's), a central and an edge worker and the API in this
process (as `make run`), all on loopback, with encrypted payloads as in production. The
raw baseline's workers run in this process too, with the same sandbox pass-through and
the same edge concurrency as devprov's. Then:

- **pipeline throughput**, in `--rounds` rounds of three phases whose order turns
  round by round (ABC, BCA, CAB, …: each phase as often first as last after a
  multiple of three rounds, so none always follows the same one), each phase `--runs`
  runs started at once by a load generator in a process of its own (`bench.load`)
  until every one has finished, visibility let settle (no run open) before the next
  phase:
  - *devprov*: HTTP Wi-Fi runs through the API until SUCCEEDED;
  - *raw*: plain workflows of as many activities on the same kinds of queues (a claim
    and an outcome on the central queue, four device steps on the edge queue), trivial;
  - *raw-io*: the same workflows whose activities make the device calls the protocol
    needs against the same simulator process (`bench.raw_temporal.DEVICE_STEPS`) and
    write the claim and the outcome to a SQLite file, as devprov's registry does.
  The simulator's own counters say how many device calls each side made per run. Each
  figure is the median of the rounds with their min-max; after a warm-up of each phase.
- **cost per run**: one happy devprov run followed over SSE as a client would, and one
  run of each baseline: Temporal Cloud billable actions from their histories
  (`bench.billing`), history events, and the progress queries the API made meanwhile.
- **API start**: `--starts` sequential `POST /devices/{id}/provision` → 202, without
  and with an `Idempotency-Key`, against as many `start_workflow` calls of the SDK with
  the same client (converter, codec), the three alternated start by start.

Prints a table, writes JSON (`--json`, default `bench/results/pipeline.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil
from temporalio.client import Client
from temporalio.worker import Worker

from bench.billing import run_cost
from bench.load import Phase, devprov_body, raw_run
from bench.processes import ROOT, http_device_simulator, log_tail
from bench.raw_temporal import (
    RAW_WORKFLOW_RUNNER,
    RawDeviceActivities,
    RawPipelineRun,
    RawProvisioning,
    RawProvisioningRun,
    raw_step,
)
from bench.stack import bench_registry, free_port, start_bench_api
from config.settings import (
    EdgeSettings,
    HttpWifiSettings,
    Settings,
    TemporalSettings,
    WorkerSettings,
)
from worker.dev_server import die_with_parent, start_dev_server
from worker.edge import edge_node
from worker.workers import central_worker

SITE = "bench"
PHASES = ("devprov", "raw", "raw-io")
EDGE_CONCURRENCY = 50
"""devprov's edge worker's `max_concurrent_activities`; the raw edge worker's too."""


def phase_order(round_index: int) -> tuple[str, ...]:
    """The phases of a round, turned by one each round (the warm-up, -1, as the last)."""
    turn = round_index % len(PHASES)
    return PHASES[turn:] + PHASES[:turn]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _starts(
    http: httpx.AsyncClient, api: str, client: Client, ids: list[str], registry_path: str
) -> dict[str, list[float]]:
    """Sequential start latencies, the three kinds alternated start by start so that
    each meets the same server: the SDK's `start_workflow`, the API's `POST …/provision`,
    and the same with an `Idempotency-Key` (its check and record included).

    Every run started goes on as it would, beside the starts that follow: devprov's
    claim their devices, then wait for an edge worker of a site that has none; the
    SDK's are raw-io runs that write their claim, then wait for a device step on a
    queue that no worker polls."""
    body = devprov_body("elsewhere")
    latencies: dict[str, list[float]] = {"sdk": [], "api": [], "api_keyed": []}
    for device_id in ids:
        started_at = time.perf_counter()
        await client.start_workflow(
            RawProvisioningRun.run,
            RawProvisioning(
                device_id=device_id,
                central_queue="raw-central",
                edge_queue="raw-edge-of-nowhere",
                device_url="http://127.0.0.1:9/never-asked",
                registry_path=registry_path,
            ),
            id=f"sdk-start-{device_id}",
            task_queue="raw-central",
            request_eager_start=True,  # as devprov's API asks
        )
        latencies["sdk"].append(time.perf_counter() - started_at)
        for kind, headers in (("api", {}), ("api_keyed", {"Idempotency-Key": f"k-{device_id}"})):
            path = f"{api}/api/v1/devices/{kind[-1]}{device_id}/provision"
            started_at = time.perf_counter()
            response = await http.post(path, json=body, headers=headers)
            latencies[kind].append(time.perf_counter() - started_at)
            assert response.status_code == 202, response.text
    return latencies


class CpuClock:
    """CPU seconds (user + system) spent so far by this process and by the server."""

    def __init__(self, server_pid: int) -> None:
        self._processes = (psutil.Process(), psutil.Process(server_pid))

    def read(self) -> tuple[float, float]:
        bench, server = (p.cpu_times() for p in self._processes)
        return bench.user + bench.system, server.user + server.system


THREAD_KINDS = ("event loop", "workflow threads", "SDK core", "other threads")
"""Where this process's CPU goes: the event loop (the API, every activity, the payload
codec and converter of activations), the threads that run workflow code in the sandbox,
the SDK's core (its Rust threads, unknown to Python), and the rest (SQLite's, executors)."""


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's threads, by `THREAD_KINDS`. "other threads"
    is the rest of the process's total, so that threads which ended (SQLite's connection
    threads come and go) still count."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    main = threading.main_thread().native_id
    seconds = dict.fromkeys(THREAD_KINDS, 0.0)
    process = psutil.Process()
    for thread in process.threads():
        name = names.get(thread.id)
        if thread.id == main:
            kind = "event loop"
        elif name is None:
            kind = "SDK core"
        elif name.startswith("temporal_workflow_"):
            kind = "workflow threads"
        else:
            continue
        seconds[kind] += thread.user_time + thread.system_time
    total = process.cpu_times()
    seconds["other threads"] = total.user + total.system - sum(seconds.values())
    return seconds


def per_run_ms(before: tuple[float, float], after: tuple[float, float], runs: int) -> list[float]:
    return [round((b - a) * 1000 / runs, 1) for a, b in zip(before, after, strict=True)]


def spread(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """Median, min and max of the rounds' figures."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


async def load_phase(phase: Phase, log: Path) -> dict[str, float]:
    """One phase, by the load generator in its own process."""
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load", phase.model_dump_json(), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=err, stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )  # fmt: skip
        out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the load generator failed ({phase.kind}):\n{log_tail(log)}")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def settle(client: Client, timeout: float = 120.0, *, besides: str = "") -> float:
    """Until visibility shows no open run (the previous phase's runs are all closed
    there too) but those of workflow type `besides` (long-lived ones); the seconds it
    took."""
    loop = asyncio.get_running_loop()
    started_at = loop.time()
    query = 'ExecutionStatus="Running"' + (f' AND WorkflowType!="{besides}"' if besides else "")
    while (await client.count_workflows(query)).count:
        if loop.time() - started_at > timeout:
            raise SystemExit("visibility still shows open runs after the phase")
        await asyncio.sleep(0.2)
    return loop.time() - started_at


async def _rpc_calls(http: httpx.AsyncClient, simulator_url: str, ids: Sequence[str]) -> int:
    """Device RPC requests the simulator received for `ids`, by its own counters."""
    wanted = set(ids)
    devices = (await http.get(f"{simulator_url}/_sim/devices")).json()["devices"]
    return sum(
        sum(d["counters"]["rpc_calls"].values()) for d in devices if d["device_id"] in wanted
    )


async def _progress_queries(http: httpx.AsyncClient, api: str) -> int:
    for line in (await http.get(f"{api}/metrics")).text.splitlines():
        if line.startswith("devprov_api_progress_queries "):
            return int(float(line.split()[1]))
    raise SystemExit("the API's /metrics has no devprov_api_progress_queries")


async def _events(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    events: list[dict[str, Any]] = history.to_json_dict()["events"]
    return events


async def _costs(
    http: httpx.AsyncClient, api: str, client: Client, base: Phase, device_ids: dict[str, str]
) -> dict[str, dict[str, object]]:
    """Billable actions and history events of one happy run of each side; devprov's run
    is followed over SSE, as a client following a run would."""
    device_id = device_ids["devprov"]
    queries_before = await _progress_queries(http, api)
    response = await http.post(
        f"{api}/api/v1/devices/{device_id}/provision", json=devprov_body(SITE)
    )
    assert response.status_code == 202, response.text
    async with http.stream("GET", f"{api}/api/v1/devices/{device_id}/provision/events") as sse:
        async for _ in sse.aiter_lines():
            pass
    await client.get_workflow_handle(f"provision-{device_id}").result()
    queries = await _progress_queries(http, api) - queries_before
    costs = {"devprov": run_cost(await _events(client, f"provision-{device_id}"), queries)}
    costs["devprov"]["progress_queries"] = queries
    for kind in ("raw", "raw-io"):
        phase = base.model_copy(update={"kind": kind})
        workflow_id = f"cost-{kind}-{device_ids[kind]}"
        await client.execute_workflow(
            RawProvisioningRun.run, raw_run(phase, device_ids[kind]), id=workflow_id,
            task_queue="raw-central",
        )  # fmt: skip
        costs[kind] = run_cost(await _events(client, workflow_id))
        costs[kind]["progress_queries"] = 0
    return costs


async def run(runs: int, rounds: int, starts: int) -> dict[str, object]:
    prefix = uuid.uuid4().hex[:5]
    warm = max(10, runs // 10)
    ids = {
        (kind, r): [f"{kind[0]}{'io' if kind == 'raw-io' else ''}{prefix}-{r}-{n:04d}"
                    for n in range(warm if r < 0 else runs)]
        for kind in PHASES for r in range(-1, rounds)
    }  # fmt: skip
    cost_ids = {kind: f"c{kind[0]}{len(kind)}{prefix}" for kind in PHASES}
    simulated = [d for (kind, _), group in ids.items() if kind != "raw" for d in group] + [
        cost_ids["devprov"],
        cost_ids["raw-io"],
    ]
    start_ids = [f"s{prefix}-{n:05d}" for n in range(starts)]
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        data_dir = Path(tmp)
        server = await start_dev_server(data_dir=data_dir, port=free_port(), ui_port=None)
        cpu = CpuClock(server.process.pid)
        figures: dict[str, list[float]] = {f"{k}_runs_per_second": [] for k in PHASES}
        figures |= {f"{k}_{p}_cpu_ms_per_run": [] for k in PHASES for p in ("bench", "server")}
        figures |= {f"{k}_load_cpu_ms_per_run": [] for k in PHASES}
        figures |= {f"{k}_machine_cpu_ms_per_run": [] for k in PHASES}
        figures |= {"ratio_to_raw": [], "ratio_to_raw_io": [], "settle_seconds": []}
        figures |= {"cpu_ratio_to_raw_io": []}
        device_calls: dict[str, int] = {}
        try:
            async with (
                http_device_simulator(simulated, 0.0, data_dir) as simulator_url,
                bench_registry(data_dir) as devices,
            ):
                settings = Settings(
                    temporal=TemporalSettings.defaults(address=server.address),
                    http_wifi=HttpWifiSettings.defaults(
                        address_template=f"{simulator_url}/devices/{{device_id}}"
                    ),
                    edge=EdgeSettings.defaults(capabilities=("http-wifi",)),
                    worker=WorkerSettings.defaults(data_dir=data_dir),
                )
                client, api = await start_bench_api(settings, devices)
                base = Phase(
                    kind="raw", temporal_address=server.address, data_dir=data_dir,
                    device_ids=[], api_url=api.url, site=SITE, simulator_url=simulator_url,
                    registry_path=str(data_dir / "raw-registry.db"),
                )  # fmt: skip
                log = data_dir / "load.log"
                try:
                    async with (
                        httpx.AsyncClient(timeout=120, trust_env=False) as http,
                        httpx.AsyncClient(timeout=30, trust_env=False) as device_http,
                        central_worker(client, registry=devices),
                        edge_node(client, settings, site=SITE, host="gw1"),
                        Worker(
                            client,
                            task_queue="raw-central",
                            workflows=[RawProvisioningRun, RawPipelineRun],
                            activities=[raw_step, RawDeviceActivities(device_http).registry_write],
                            workflow_runner=RAW_WORKFLOW_RUNNER,
                        ),
                        Worker(
                            client,
                            task_queue="raw-edge",
                            activities=[raw_step, RawDeviceActivities(device_http).device_step],
                            max_concurrent_activities=EDGE_CONCURRENCY,
                        ),
                    ):
                        for r in range(-1, rounds):
                            seconds: dict[str, float] = {}
                            machine: dict[str, float] = {}
                            for kind in phase_order(r):
                                phase = base.model_copy(
                                    update={"kind": kind, "device_ids": ids[kind, r]}
                                )
                                before, threads_before = cpu.read(), thread_cpu()
                                result = await load_phase(phase, log)
                                after, threads_after = cpu.read(), thread_cpu()
                                settled = await settle(client)
                                if r < 0:  # the warm-up: neither side pays first imports
                                    continue
                                seconds[kind] = result["seconds"]
                                figures[f"{kind}_runs_per_second"].append(runs / result["seconds"])
                                bench_ms, server_ms = per_run_ms(before, after, runs)
                                figures[f"{kind}_bench_cpu_ms_per_run"].append(bench_ms)
                                figures[f"{kind}_server_cpu_ms_per_run"].append(server_ms)
                                load_ms = result["cpu_seconds"] * 1000 / runs
                                figures[f"{kind}_load_cpu_ms_per_run"].append(load_ms)
                                machine[kind] = bench_ms + server_ms + load_ms
                                figures[f"{kind}_machine_cpu_ms_per_run"].append(machine[kind])
                                figures["settle_seconds"].append(settled)
                                for thread_kind in THREAD_KINDS:
                                    spent = threads_after[thread_kind] - threads_before[thread_kind]
                                    figures.setdefault(f"{kind}_{thread_kind}_cpu_ms_per_run", [])
                                    figures[f"{kind}_{thread_kind}_cpu_ms_per_run"].append(
                                        round(spent * 1000 / runs, 1)
                                    )
                                rate = runs / result["seconds"]
                                print(f"round {r + 1} {kind}: {rate:.2f} runs/s", flush=True)
                            if r >= 0:
                                figures["ratio_to_raw"].append(seconds["raw"] / seconds["devprov"])
                                figures["ratio_to_raw_io"].append(
                                    seconds["raw-io"] / seconds["devprov"]
                                )
                                figures["cpu_ratio_to_raw_io"].append(
                                    machine["raw-io"] / machine["devprov"]
                                )
                        for kind in ("devprov", "raw-io"):
                            measured = [d for r in range(rounds) for d in ids[kind, r]]
                            calls = await _rpc_calls(http, simulator_url, measured)
                            device_calls[kind] = calls
                        costs = await _costs(http, api.url, client, base, cost_ids)
                        starts_ms = await _starts(
                            http, api.url, client, start_ids, base.registry_path
                        )
                finally:
                    await api.close()
        finally:
            await server.stop()
    via_api, keyed, sdk = starts_ms["api"], starts_ms["api_keyed"], starts_ms["sdk"]
    api_p50, api_p99 = percentile(via_api, 0.5), percentile(via_api, 0.99)
    keyed_p50, keyed_p99 = percentile(keyed, 0.5), percentile(keyed, 0.99)
    sdk_p50, sdk_p99 = percentile(sdk, 0.5), percentile(sdk, 0.99)
    measured_runs = runs * rounds
    return {
        "runs": runs,
        "rounds": rounds,
        "phase_order": [list(phase_order(r)) for r in range(rounds)],
        **{name: spread(values, 3 if "ratio" in name else 2) for name, values in figures.items()},
        "ratio_to_raw_io_by_round": [round(ratio, 3) for ratio in figures["ratio_to_raw_io"]],
        "ratio_of_median_throughputs_to_raw_io": round(
            statistics.median(figures["devprov_runs_per_second"])
            / statistics.median(figures["raw-io_runs_per_second"]),
            3,
        ),
        "throughput_targets": {"ratio_to_raw": ">= 0.9", "ratio_to_raw_io": ">= 0.95"},
        "device_calls_per_run": {k: round(v / measured_runs, 2) for k, v in device_calls.items()},
        "cost_per_run": costs,
        "billable_actions_target": "devprov <= raw-io + 1",
        "starts": starts,
        "api_start_p50_ms": round(api_p50 * 1000, 1),
        "api_start_p99_ms": round(api_p99 * 1000, 1),
        "sdk_start_p50_ms": round(sdk_p50 * 1000, 1),
        "sdk_start_p99_ms": round(sdk_p99 * 1000, 1),
        "api_start_mean_ms": round(statistics.mean(via_api) * 1000, 1),
        "start_p50_ratio": round(api_p50 / sdk_p50, 2),
        "start_p99_ratio": round(api_p99 / sdk_p99, 2),
        "api_keyed_start_p50_ms": round(keyed_p50 * 1000, 1),
        "api_keyed_start_p99_ms": round(keyed_p99 * 1000, 1),
        "keyed_start_p50_ratio": round(keyed_p50 / sdk_p50, 2),
        "start_target": "<= 1.2",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def _fmt(figure: object) -> str:
    spread_ = figure if isinstance(figure, dict) else {}
    return f"{spread_['median']} ({spread_['min']}-{spread_['max']})"


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['runs']} runs a phase, {result['rounds']} rounds "
        "(order turned each round: "
        + ", ".join("/".join(order) for order in result["phase_order"][:3])
        + "); median (min-max) of the rounds",
        f"{'throughput (runs/s)':<34} {_fmt(result['devprov_runs_per_second'])}",
        f"{'  raw, trivial activities':<34} {_fmt(result['raw_runs_per_second'])}",
        f"{'  raw, same device I/O':<34} {_fmt(result['raw-io_runs_per_second'])}",
        f"{'ratio to raw (>= 0.9)':<34} {_fmt(result['ratio_to_raw'])}",
        f"{'ratio to raw same I/O (>= 0.95)':<34} {_fmt(result['ratio_to_raw_io'])}",
        "  same-I/O ratio round by round: "
        + ", ".join(str(ratio) for ratio in result["ratio_to_raw_io_by_round"]),
        "  read otherwise (not the target's reading): ratio of the median throughputs "
        f"{result['ratio_of_median_throughputs_to_raw_io']}; of the machine's CPU a run "
        f"(this process + server + load generator) {_fmt(result['cpu_ratio_to_raw_io'])}",
        f"device calls per run (simulator's counters): {result['device_calls_per_run']}",
        "CPU ms per run (bench = workers and API in this process; server; load generator):",
    ]
    for kind in PHASES:
        lines.append(
            f"  {kind:<8} bench {_fmt(result[f'{kind}_bench_cpu_ms_per_run'])}, "
            f"server {_fmt(result[f'{kind}_server_cpu_ms_per_run'])}, "
            f"load {_fmt(result[f'{kind}_load_cpu_ms_per_run'])}"
        )
    lines.append("  bench CPU ms per run by thread: " + ", ".join(THREAD_KINDS))
    for kind in PHASES:
        by_thread = (_fmt(result[f"{kind}_{t}_cpu_ms_per_run"]) for t in THREAD_KINDS)
        lines.append(f"  {kind:<8} " + ", ".join(by_thread))
    lines.append(f"{'cost of one happy run':<24} {'actions':>8} {'events':>7} {'queries':>8}")
    for kind, cost in result["cost_per_run"].items():
        lines.append(
            f"  {kind:<22} {cost['billable_actions']!s:>8} {cost['history_events']!s:>7} "
            f"{cost['progress_queries']!s:>8}  {cost['by_kind']}"
        )
    lines.append(
        f"API start p50 {result['api_start_p50_ms']} ms vs SDK {result['sdk_start_p50_ms']} ms "
        f"({result['start_p50_ratio']}x); p99 {result['api_start_p99_ms']} vs "
        f"{result['sdk_start_p99_ms']} ({result['start_p99_ratio']}x)"
    )
    lines.append(
        f"API start with an Idempotency-Key p50 {result['api_keyed_start_p50_ms']} ms "
        f"({result['keyed_start_p50_ratio']}x), p99 {result['api_keyed_start_p99_ms']} ms"
    )
    lines.append(f"load average at the end: {result['load_average']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=300)
    parser.add_argument("--json", type=Path, default=Path("bench/results/pipeline.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.rounds, args.starts))
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
