"""Progress streaming: many SSE subscribers on one API process, against one per run.

    .venv/bin/python -m bench.progress_streaming --runs 100 --subscribers 1000

Starts its own dev server (with its Prometheus endpoint, to count the queries Temporal
serves), and as processes of their own the HTTP device simulator, a central and an edge
worker, and the API (`python -m api`, so that its memory is its own); this process holds
only the subscribers. Then, twice on the same server and API process:

- **baseline**: `--runs` HTTP Wi-Fi runs, each waiting for Wi-Fi credentials, followed
  by one SSE subscriber each;
- **load**: as many new runs, followed by `--subscribers` SSE subscribers spread evenly
  over them.

In each phase every subscriber connects while its run waits; for `--steady` seconds the
`QueryWorkflow` requests the dev server serves are counted (its own counter, so the
figure does not depend on what the API reports); then the credentials of every run are
posted at once and each run goes on to SUCCEEDED (the simulated devices join after
`--join-delay` seconds). Measured per phase: queries per run and per second, whether
every subscriber received every event of its run exactly once and in order, the delay
from a state change in the workflow (its `updated_at`) to its arrival at a subscriber
(p50, p95), and the API process's resident memory (sampled every 0.2 s). Ratios are
load against baseline: the query rate must stay at 1.0 however many subscribers follow.

Prints a table, writes JSON (`--json`, default `bench/results/progress_streaming.json`);
exits 1 if any subscriber missed, repeated or reordered an event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psutil
from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import (
    devprov_worker_commands,
    http_device_simulator,
    spawn_module,
    stop_process,
    wait_until_answers,
    worker_processes,
)
from bench.stack import free_port
from config.settings import Settings, TemporalSettings, WorkerSettings
from connection.temporal_client import connect
from domain.api_models import PROGRESS_SSE_EVENT
from worker.dev_server import start_dev_server

SITE = "bench"
START_BODY = {
    "device": {
        "type": "wifi-relay",
        "vendor": "shelly",
        "capabilities": ["wifi", "http-rpc"],
        "site": SITE,
    },
}
CREDENTIALS = {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"}


@dataclass
class Subscriber:
    """What one SSE client saw: (arrival wall time, sequence, state, updated_at)."""

    device_id: str
    events: list[tuple[float, int, str, float]] = field(default_factory=list)
    error: str | None = None
    attached: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at the first event (or the error): the subscriber follows its run."""


@dataclass
class PhaseResult:
    runs: int
    subscribers: int
    seconds: float
    queries: int
    hub_queries: int
    describes: int
    incomplete_subscribers: int
    latencies: list[float]
    api_rss_idle_mb: float
    api_rss_peak_mb: float
    api_cpu_seconds: float
    """CPU the API process spent from the first connection to the last terminal event."""
    events_delivered: int
    client_busy: float
    """Share of one core the subscribers' own process used while the runs moved on: near
    1.0 means the figures include the clients' queueing."""

    @property
    def queries_per_run_second(self) -> float:
        return self.queries / self.runs / self.seconds

    def summary(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "subscribers": self.subscribers,
            "seconds": round(self.seconds, 2),
            "temporal_queries": self.queries,
            "api_progress_queries": self.hub_queries,
            "temporal_describes": self.describes,
            "queries_per_second": round(self.queries / self.seconds, 1),
            "queries_per_run_second": round(self.queries_per_run_second, 3),
            "incomplete_subscribers": self.incomplete_subscribers,
            "live_events_measured": len(self.latencies),
            "delivery_p50_ms": round(_percentile(self.latencies, 0.5) * 1000, 1),
            "delivery_p95_ms": round(_percentile(self.latencies, 0.95) * 1000, 1),
            "api_rss_idle_mb": round(self.api_rss_idle_mb, 1),
            "api_rss_peak_mb": round(self.api_rss_peak_mb, 1),
            "events_delivered": self.events_delivered,
            "subscriber_process_busy": round(self.client_busy, 2),
            "api_cpu_ms_per_event": round(self.api_cpu_seconds * 1000 / self.events_delivered, 3),
        }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


METRICS_FLUSH_SECONDS = 1.5
"""The dev server publishes its counters about once a second."""


async def _server_requests(http: httpx.AsyncClient, metrics_url: str) -> dict[str, int]:
    """Requests the dev server's frontend served, by operation, as last published."""
    text = (await http.get(metrics_url)).text
    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "service_requests":
            continue
        for sample in family.samples:
            if sample.labels.get("service_name") != "frontend":
                continue
            operation = sample.labels.get("operation", "")
            counts[operation] = counts.get(operation, 0) + int(sample.value)
    return counts


async def _fresh_query_counts(
    http: httpx.AsyncClient, metrics_url: str
) -> tuple[float, dict[str, int]]:
    """The counters right after the server published them, while queries flow: the
    window between two such reads is exact to the 20 ms of this loop."""
    first = await _server_requests(http, metrics_url)
    while True:
        await asyncio.sleep(0.02)
        counts = await _server_requests(http, metrics_url)
        if counts.get("QueryWorkflow") != first.get("QueryWorkflow"):
            return time.perf_counter(), counts


async def _hub_queries(http: httpx.AsyncClient, api: str) -> int:
    text = (await http.get(f"{api}/metrics")).text
    for family in text_string_to_metric_families(text):
        if family.name == "devprov_api_progress_queries":
            return int(sum(sample.value for sample in family.samples))
    raise RuntimeError("the API's /metrics has no devprov_api_progress_queries")


@contextlib.asynccontextmanager
async def _api_process(settings: Settings, port: int) -> AsyncIterator[psutil.Process]:
    """`python -m api` on `port`, against the bench's server and key ring; auth is off
    (one caller holding 1,000 streams would pass any per-key stream limit)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVPROV_")}
    env |= {
        "DEVPROV_TEMPORAL_ADDRESS": settings.temporal.frontend,
        "DEVPROV_DATA_DIR": str(settings.data_dir),
        "DEVPROV_API_PORT": str(port),
        "DEVPROV_API_AUTH": "off",
        "DEVPROV_SSE_POLL_INTERVAL": str(settings.api.sse_poll_interval_seconds),
    }
    log = settings.data_dir / "api.log"
    process = await spawn_module(["api"], log, env)
    try:
        await wait_until_answers(f"http://127.0.0.1:{port}/healthz", process, log)
        yield psutil.Process(process.pid)
    finally:
        await stop_process(process)


async def _sample_rss(process: psutil.Process, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss / 2**20)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def _follow(http: httpx.AsyncClient, api: str, subscriber: Subscriber) -> None:
    url = f"{api}/api/v1/devices/{subscriber.device_id}/provision/events"
    try:
        async with aconnect_sse(http, "GET", url) as source:
            source.response.raise_for_status()
            async for message in source.aiter_sse():
                if message.event != PROGRESS_SSE_EVENT:
                    continue
                arrived = time.time()
                payload = json.loads(message.data)
                updated_at = datetime.fromisoformat(payload["updated_at"]).timestamp()
                subscriber.events.append((arrived, int(message.id), payload["state"], updated_at))
                subscriber.attached.set()
                if payload["terminal"]:
                    return
    except httpx.HTTPError as error:
        subscriber.error = f"{type(error).__name__}: {error}"
    finally:
        subscriber.attached.set()


async def _wait_for_state(http: httpx.AsyncClient, api: str, device_id: str, state: str) -> None:
    for _ in range(600):
        response = await http.get(f"{api}/api/v1/devices/{device_id}/provision")
        if response.status_code == 200 and response.json()["state"] == state:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{device_id} never reached {state}")


def _complete(subscriber: Subscriber, final_events: list[int]) -> bool:
    """Every event of the run, once each, in order, ending with SUCCEEDED."""
    sequences = [sequence for _, sequence, _, _ in subscriber.events]
    return (
        subscriber.error is None
        and sequences == final_events
        and bool(subscriber.events)
        and subscriber.events[-1][2] == "SUCCEEDED"
    )


async def _phase(
    http: httpx.AsyncClient,
    api: str,
    metrics_url: str,
    api_process: psutil.Process,
    device_ids: list[str],
    subscribers_per_run: int,
    steady_seconds: float,
) -> PhaseResult:
    responses = await asyncio.gather(
        *(http.post(f"{api}/api/v1/devices/{d}/provision", json=START_BODY) for d in device_ids)
    )
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses[:3]]
    await asyncio.gather(*(_wait_for_state(http, api, d, "PENDING_NETWORK") for d in device_ids))
    await asyncio.sleep(METRICS_FLUSH_SECONDS)  # the status reads above are published
    idle_rss = api_process.memory_info().rss / 2**20
    cpu_before = api_process.cpu_times()
    peak = [idle_rss]
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(api_process, peak, stop_sampling))

    before_connects = await _server_requests(http, metrics_url)
    subscribers = [Subscriber(d) for d in device_ids for _ in range(subscribers_per_run)]
    followers = [asyncio.create_task(_follow(http, api, s)) for s in subscribers]
    # Every subscriber attached (it has the run's events so far) before the runs move on.
    await asyncio.gather(*(s.attached.wait() for s in subscribers))
    # The steady state: every run polled for its subscribers, nothing else going on.
    steady_started, before = await _fresh_query_counts(http, metrics_url)
    hub_before = await _hub_queries(http, api)
    await asyncio.sleep(steady_seconds)
    steady_ended, after = await _fresh_query_counts(http, metrics_url)
    hub_after = await _hub_queries(http, api)
    steady = steady_ended - steady_started
    credentials_posted_at = time.time()
    client_cpu_before, moving_since = time.process_time(), time.perf_counter()
    posted = await asyncio.gather(
        *(
            http.post(f"{api}/api/v1/devices/{d}/provision/credentials", json=CREDENTIALS)
            for d in device_ids
        )
    )
    assert all(r.status_code == 200 for r in posted), [r.text for r in posted[:3]]
    await asyncio.gather(*followers)
    cpu_after = api_process.cpu_times()
    client_busy = (time.process_time() - client_cpu_before) / (time.perf_counter() - moving_since)
    stop_sampling.set()
    await sampler

    final: dict[str, list[int]] = {}
    for device_id in device_ids:
        status = (await http.get(f"{api}/api/v1/devices/{device_id}/provision")).json()
        final[device_id] = [event["sequence"] for event in status["events"]]
    latencies = [
        arrived - updated_at
        for s in subscribers
        for arrived, _, _, updated_at in s.events
        if updated_at >= credentials_posted_at
    ]
    return PhaseResult(
        runs=len(device_ids),
        subscribers=len(subscribers),
        seconds=steady,
        queries=after.get("QueryWorkflow", 0) - before.get("QueryWorkflow", 0),
        hub_queries=hub_after - hub_before,
        describes=before.get("DescribeWorkflowExecution", 0)
        - before_connects.get("DescribeWorkflowExecution", 0),
        incomplete_subscribers=sum(not _complete(s, final[s.device_id]) for s in subscribers),
        latencies=latencies,
        api_rss_idle_mb=idle_rss,
        api_rss_peak_mb=peak[0],
        api_cpu_seconds=cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system,
        events_delivered=sum(len(s.events) for s in subscribers),
        client_busy=client_busy,
    )


async def run(runs: int, subscribers: int, join_delay: float, steady: float) -> dict[str, object]:
    if subscribers % runs:
        raise SystemExit("--subscribers must be a multiple of --runs")
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        metrics_port = free_port()
        server = await start_dev_server(
            data_dir=Path(tmp), port=free_port(), ui_port=None, metrics_port=metrics_port
        )
        try:
            prefix = uuid.uuid4().hex[:6]
            baseline_ids = [f"b{prefix}-{n:04d}" for n in range(runs)]
            load_ids = [f"l{prefix}-{n:04d}" for n in range(runs)]
            async with http_device_simulator(
                baseline_ids + load_ids, join_delay, Path(tmp)
            ) as simulator_url:
                settings = Settings(
                    temporal=TemporalSettings.defaults(address=server.address),
                    worker=WorkerSettings.defaults(data_dir=Path(tmp)),
                )
                await connect(settings, create_keys=True, sdk_metrics=False)  # the key ring
                api_port = free_port()
                api = f"http://127.0.0.1:{api_port}"
                metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
                limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
                async with (
                    worker_processes(
                        server.address, Path(tmp), simulator_url, "workers",
                        devprov_worker_commands(SITE),
                    ),
                    _api_process(settings, api_port) as api_process,
                    httpx.AsyncClient(timeout=120, trust_env=False, limits=limits) as http,
                ):  # fmt: skip
                    baseline = await _phase(
                        http, api, metrics_url, api_process, baseline_ids, 1, steady
                    )
                    load = await _phase(
                        http, api, metrics_url, api_process, load_ids, subscribers // runs, steady
                    )
        finally:
            await server.stop()
    return {
        "poll_interval_s": Settings().api.sse_poll_interval_seconds,
        "join_delay_s": join_delay,
        "baseline": baseline.summary(),
        "load": load.summary(),
        "query_rate_ratio": round(load.queries_per_run_second / baseline.queries_per_run_second, 3),
        "query_rate_target": "~1.0 (does not grow with subscribers)",
        "delivery_p95_ratio": round(
            _percentile(load.latencies, 0.95) / _percentile(baseline.latencies, 0.95), 2
        ),
        "api_rss_peak_ratio": round(load.api_rss_peak_mb / baseline.api_rss_peak_mb, 2),
        "api_kb_per_subscriber": round(
            (load.api_rss_peak_mb - load.api_rss_idle_mb) * 1024 / load.subscribers, 1
        ),
        "every_event_reached_every_subscriber": (
            baseline.incomplete_subscribers == 0 and load.incomplete_subscribers == 0
        ),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def table(result: dict[str, object]) -> str:
    base = result["baseline"]
    load = result["load"]
    assert isinstance(base, dict)
    assert isinstance(load, dict)
    rows = [
        ("subscribers (runs)", f"{load['subscribers']} ({load['runs']})",
         f"{base['subscribers']} ({base['runs']})", "", ""),
        ("Temporal queries / run / s", load["queries_per_run_second"],
         base["queries_per_run_second"], result["query_rate_ratio"], "~1.0"),
        ("Temporal queries / s", load["queries_per_second"], base["queries_per_second"], "", ""),
        ("describes while connecting", load["temporal_describes"],
         base["temporal_describes"], "", ""),
        ("delivery p50 (ms)", load["delivery_p50_ms"], base["delivery_p50_ms"], "", ""),
        ("delivery p95 (ms)", load["delivery_p95_ms"], base["delivery_p95_ms"],
         result["delivery_p95_ratio"], ""),
        ("API CPU per event sent (ms)", load["api_cpu_ms_per_event"],
         base["api_cpu_ms_per_event"], "", ""),
        ("subscribers' process busy", load["subscriber_process_busy"],
         base["subscriber_process_busy"], "", ""),
        ("API RSS peak (MB)", load["api_rss_peak_mb"], base["api_rss_peak_mb"],
         result["api_rss_peak_ratio"], ""),
        ("subscribers missing events", load["incomplete_subscribers"],
         base["incomplete_subscribers"], "", "0"),
    ]  # fmt: skip
    lines = [f"{'figure':<30} {'load':>12} {'baseline':>12} {'ratio':>7} {'target':>7}"]
    lines += [f"{a:<30} {b!s:>12} {c!s:>12} {d!s:>7} {e:>7}" for a, b, c, d, e in rows]
    lines.append(
        f"API memory per subscriber: {result['api_kb_per_subscriber']} KB; "
        f"poll interval {result['poll_interval_s']} s; "
        f"load average at the end: {result['load_average']}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--join-delay", type=float, default=2.0)
    parser.add_argument("--steady", type=float, default=10.0, help="seconds of query counting")
    parser.add_argument("--json", type=Path, default=Path("bench/results/progress_streaming.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.subscribers, args.join_delay, args.steady))
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not result["every_event_reached_every_subscriber"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
