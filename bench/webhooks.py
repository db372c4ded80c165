"""What a webhook subscriber costs: HTTP Wi-Fi runs while the tenant subscribes to their
outcomes, against the same runs without a subscriber, in the same run.

    .venv/bin/python -m bench.webhooks --runs 200 --rounds 3

Starts its own dev server (SQLite file, as `make run`), the HTTP device simulator as a
process of its own, and in this process the API, a central and an edge worker on one
device registry (a SQLite file, as `make run`: the outbox is a table of it) and a
webhook receiver on loopback that answers 204 and notes when each event arrived. Then,
in `--rounds` rounds of two phases in the same order (AB…), after a warm-up round that
is not counted, each phase `--runs` runs started at once by the load generator in a
process of its own (`bench.load`):

- *without*: the subscription is disabled (`PATCH /webhooks/{id}` `enabled: false`);
- *with*: it is enabled, subscribed to `run.succeeded` and `run.failed`; the phase
  ends when every run has finished *and* the receiver holds every run's event.

Figures, median (min-max) of the rounds: throughput of each phase and their ratio;
CPU per run of this process and of the server; how long after the last run finished
the last event arrived; delivery latency from the event's `timestamp` (written with
the run's outcome) to its arrival, p50 and p95; and, from the delivery workflow's
histories, the billable actions (Temporal Cloud's rules, `bench.billing`) that
delivering one event added. Every event must arrive exactly once (a redelivery would
show as a duplicate `webhook-id`).

Prints a table, writes JSON (`--json`, default `bench/results/webhooks.json`).
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from temporalio.client import Client

from bench.billing import run_cost
from bench.load import Phase
from bench.pipeline import CpuClock, load_phase, per_run_ms, percentile, settle, spread
from bench.processes import http_device_simulator
from bench.stack import bench_registry, free_port, start_bench_api
from config.settings import (
    EdgeSettings,
    HttpWifiSettings,
    Settings,
    TemporalSettings,
    WebhookSettings,
    WorkerSettings,
)
from domain.webhooks import WEBHOOK_DELIVERY_WORKFLOW, delivery_workflow_id
from simulators.serving import serve_app
from worker.dev_server import start_dev_server
from worker.edge import edge_node
from worker.workers import central_worker

SITE = "bench"
PHASES = ("without", "with")
EVENTS = ["run.succeeded", "run.failed"]


@dataclass
class Receiver:
    """A webhook receiver: each event's id, and how late it arrived."""

    arrivals: dict[str, list[str]] = field(default_factory=dict)
    """`webhook-id`s received, by device id."""
    latencies: list[float] = field(default_factory=list)
    """Seconds from each event's `timestamp` to its arrival."""

    async def handle(self, request: web.Request) -> web.Response:
        arrived = time.time()
        payload: dict[str, Any] = await request.json()
        device_id = str(payload["data"]["device_id"])
        self.arrivals.setdefault(device_id, []).append(request.headers["webhook-id"])
        occurred = datetime.fromisoformat(payload["timestamp"]).timestamp()
        self.latencies.append(arrived - occurred)
        return web.Response(status=204)

    def received(self, device_ids: list[str]) -> int:
        return sum(1 for d in device_ids if self.arrivals.get(d))


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner, url = await serve_app(app, "127.0.0.1", 0)
    try:
        yield f"{url}/hook"
    finally:
        await runner.cleanup()


async def _all_delivered(receiver: Receiver, device_ids: list[str], timeout: float) -> float:
    """Seconds until the receiver holds an event of every device in `device_ids`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while receiver.received(device_ids) < len(device_ids):
        if loop.time() - started > timeout:
            missing = len(device_ids) - receiver.received(device_ids)
            raise SystemExit(f"{missing} events had not arrived after {timeout:.0f} s")
        await asyncio.sleep(0.05)
    return loop.time() - started


async def _delivery_actions(client: Client, webhook_id: str) -> dict[str, object]:
    """Billable actions of every generation of the subscription's delivery workflow."""
    query = f'WorkflowId="{delivery_workflow_id(webhook_id)}"'
    total: dict[str, int] = {}
    actions = 0
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        cost = run_cost(history.to_json_dict()["events"])
        actions += int(cost["billable_actions"])  # type: ignore[call-overload]
        for kind, count in dict(cost["by_kind"]).items():  # type: ignore[call-overload]
            total[kind] = total.get(kind, 0) + int(count)
    return {"billable_actions": actions, "by_kind": total}


async def run(runs: int, rounds: int) -> dict[str, object]:
    prefix = uuid.uuid4().hex[:5]
    warm = max(10, runs // 10)
    ids = {
        (kind, r): [
            f"w{PHASES.index(kind)}{prefix}-{r}-{n:04d}" for n in range(warm if r < 0 else runs)
        ]
        for kind in PHASES
        for r in range(-1, rounds)
    }
    simulated = [d for group in ids.values() for d in group]
    receiver = Receiver()
    figures: dict[str, list[float]] = {f"{k}_runs_per_second": [] for k in PHASES}
    figures |= {f"{k}_{p}_cpu_ms_per_run": [] for k in PHASES for p in ("bench", "server")}
    figures |= {"ratio_with_to_without": [], "drain_seconds": []}
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        data_dir = Path(tmp)
        server = await start_dev_server(data_dir=data_dir, port=free_port(), ui_port=None)
        cpu = CpuClock(server.process.pid)
        webhooks = WebhookSettings.defaults(allow_private=True)
        try:
            async with (
                http_device_simulator(simulated, 0.0, data_dir) as simulator_url,
                receiving(receiver) as receiver_url,
                bench_registry(data_dir) as devices,
            ):
                settings = Settings(
                    temporal=TemporalSettings.defaults(address=server.address),
                    http_wifi=HttpWifiSettings.defaults(
                        address_template=f"{simulator_url}/devices/{{device_id}}"
                    ),
                    edge=EdgeSettings.defaults(capabilities=("http-wifi",)),
                    worker=WorkerSettings.defaults(data_dir=data_dir),
                    webhooks=webhooks,
                )
                client, api = await start_bench_api(settings, devices)
                base = Phase(
                    kind="devprov", temporal_address=server.address, data_dir=data_dir,
                    device_ids=[], api_url=api.url, site=SITE, simulator_url=simulator_url,
                )  # fmt: skip
                log = data_dir / "load.log"
                try:
                    async with (
                        httpx.AsyncClient(timeout=60, trust_env=False) as http,
                        central_worker(client, registry=devices, webhooks=webhooks),
                        edge_node(client, settings, site=SITE, host="gw1"),
                    ):
                        created = await http.post(
                            f"{api.url}/api/v1/webhooks",
                            json={"url": receiver_url, "events": EVENTS},
                        )
                        assert created.status_code == 201, created.text
                        webhook_id = str(created.json()["id"])
                        hook = f"{api.url}/api/v1/webhooks/{webhook_id}"
                        for r in range(-1, rounds):
                            seconds: dict[str, float] = {}
                            for kind in PHASES:
                                enabled = kind == "with"
                                answer = await http.patch(hook, json={"enabled": enabled})
                                assert answer.status_code == 200, answer.text
                                phase = base.model_copy(update={"device_ids": ids[kind, r]})
                                before = cpu.read()
                                result = await load_phase(phase, log)
                                drain = 0.0
                                if enabled:
                                    drain = await _all_delivered(receiver, ids[kind, r], 300.0)
                                # Until every run finished, and (with) every event arrived.
                                elapsed = result["seconds"] + drain
                                after = cpu.read()
                                await settle(client, besides=WEBHOOK_DELIVERY_WORKFLOW)
                                if r < 0:
                                    continue
                                seconds[kind] = elapsed
                                figures[f"{kind}_runs_per_second"].append(runs / elapsed)
                                bench_ms, server_ms = per_run_ms(before, after, runs)
                                figures[f"{kind}_bench_cpu_ms_per_run"].append(bench_ms)
                                figures[f"{kind}_server_cpu_ms_per_run"].append(server_ms)
                                if enabled:
                                    figures["drain_seconds"].append(drain)
                                rate = runs / elapsed
                                late = f" (last event +{drain:.2f} s)" if enabled else ""
                                print(f"round {r + 1} {kind}: {rate:.2f} runs/s{late}", flush=True)
                            if r >= 0:
                                figures["ratio_with_to_without"].append(
                                    seconds["without"] / seconds["with"]
                                )
                        delivered = [d for r in range(-1, rounds) for d in ids["with", r]]
                        leaked = [d for r in range(-1, rounds) for d in ids["without", r]]
                        duplicates = sum(
                            len(receiver.arrivals.get(d, [])) - len(set(receiver.arrivals[d]))
                            for d in delivered
                            if d in receiver.arrivals
                        )
                        delivery = await _delivery_actions(client, webhook_id)
                finally:
                    await api.close()
        finally:
            await server.stop()
    events = len(delivered)
    actions = int(delivery["billable_actions"])  # type: ignore[call-overload]
    return {
        "runs": runs,
        "rounds": rounds,
        "phase_order": list(PHASES),
        **{name: spread(values, 3 if "ratio" in name else 2) for name, values in figures.items()},
        "events_delivered": events,
        "events_while_disabled": sum(1 for d in leaked if receiver.arrivals.get(d)),
        "duplicate_deliveries": duplicates,
        "delivery_latency_p50_ms": round(percentile(receiver.latencies, 0.5) * 1000, 1),
        "delivery_latency_p95_ms": round(percentile(receiver.latencies, 0.95) * 1000, 1),
        "delivery_latency_mean_ms": round(statistics.mean(receiver.latencies) * 1000, 1),
        "delivery_workflow": delivery,
        "delivery_actions_per_event": round(actions / events, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def _fmt(figure: object) -> str:
    spread_ = figure if isinstance(figure, dict) else {}
    return f"{spread_['median']} ({spread_['min']}-{spread_['max']})"


def table(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{result['runs']} runs a phase, {result['rounds']} rounds "
            f"({'/'.join(result['phase_order'])}, alternated); median (min-max) of the rounds",
            f"{'throughput without a subscriber':<36} {_fmt(result['without_runs_per_second'])}",
            f"{'throughput with one (all delivered)':<36} {_fmt(result['with_runs_per_second'])}",
            f"{'ratio with / without':<36} {_fmt(result['ratio_with_to_without'])}",
            f"{'last event after the last run (s)':<36} {_fmt(result['drain_seconds'])}",
            "CPU ms per run (bench = API, workers and receiver in this process; server):",
            *(
                f"  {kind:<8} bench {_fmt(result[f'{kind}_bench_cpu_ms_per_run'])}, "
                f"server {_fmt(result[f'{kind}_server_cpu_ms_per_run'])}"
                for kind in PHASES
            ),
            f"delivery latency p50 {result['delivery_latency_p50_ms']} ms, "
            f"p95 {result['delivery_latency_p95_ms']} ms",
            f"events delivered {result['events_delivered']}, duplicates "
            f"{result['duplicate_deliveries']}, while disabled {result['events_while_disabled']}",
            f"delivery workflow: {result['delivery_workflow']}; "
            f"{result['delivery_actions_per_event']} billable actions per event",
            f"load average at the end: {result['load_average']}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("bench/results/webhooks.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.rounds))
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
