"""Fleet throughput: devprov against raw Temporal of the same shape, in one run.

    .venv/bin/python -m bench.fleet_throughput --devices 1000 --rounds 3

Starts its own dev server (SQLite file with the WAL pragmas, as `make run` does) in a
temporary directory, the HTTP device simulator and the vendor-cloud simulator with a
request quota as processes of their own (devices and clouds are other machines), a
central and an edge worker and the API in this process (as `make run`). Then, in
`--rounds` rounds alternated (devprov, raw, devprov, raw, …), provisions a fleet of N
composite (`wifi-cloud`) devices through the API, and runs the raw baseline fleet of the
same shape (a parent with one child per device, as many activities as a devprov run:
claim, four edge steps, five cloud steps, outcome) on the same server, its worker with
the same sandbox pass-through as devprov's; visibility settles (no run open) before each
phase. The load generator is one request and a status poll every 0.25 s, so it stays in
this process. Prints devices per second of both and their ratio, median (min-max) of
the rounds, and the peak request rate the cloud saw against its quota (a table; JSON in
`--json`, default `bench/results/fleet_throughput.json`). Everything is on loopback;
everything it starts, it stops.
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
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from bench.pipeline import spread
from bench.processes import http_device_simulator, spawn_module, stop_process, wait_until_answers
from bench.raw_temporal import (
    RAW_WORKFLOW_RUNNER,
    RawCloud,
    RawDeviceActivities,
    RawDeviceRun,
    RawFleet,
    RawFleetRun,
    raw_step,
)
from bench.stack import bench_registry, free_port, start_bench_api
from config.settings import (
    CloudSettings,
    EdgeSettings,
    HttpWifiSettings,
    Settings,
    TemporalSettings,
    WorkerSettings,
)
from worker.central import central_activities
from worker.dev_server import start_dev_server
from worker.edge import edge_node
from worker.workers import central_worker

SIDES = ("devprov", "raw", "raw-io")
"""The phases of a round, in this order: devprov's fleet, the raw fleet of trivial
activities, the raw fleet with devprov's device, cloud and registry I/O."""


@contextlib.asynccontextmanager
async def cloud_simulator(quota: int, data_dir: Path) -> AsyncIterator[str]:
    """`python -m simulators.wifi_cloud` with a global quota; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "cloud-simulator.log"
    argv = ["simulators.wifi_cloud", "--port", str(port), "--quota", str(quota)]
    argv += ["--auto-checkin-delay", "0", "--log-level", "WARNING"]
    process = await spawn_module(argv, log)
    try:
        await wait_until_answers(f"{url}/_sim/cloud/state", process, log)
        yield url
    finally:
        await stop_process(process)


async def _settle(client: Client, timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await client.count_workflows('ExecutionStatus="Running"')).count:
        if loop.time() > deadline:
            raise SystemExit("visibility still shows open runs after the phase")
        await asyncio.sleep(0.2)


async def _devprov_fleet(api_url: str, device_ids: list[str], max_in_flight: int) -> float:
    body = {
        "template": {
            "type": "wifi-hub",
            "vendor": "acme",
            "capabilities": ["wifi", "http-rpc", "vendor-cloud"],
            "site": "bench",
        },
        "network": {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"},
        "limits": {
            "max_in_flight": max_in_flight,
            "per_site": max_in_flight,
            "per_vendor": max_in_flight,
        },
        "devices": [{"device_id": d} for d in device_ids],
    }
    fleet_id = f"bench-{uuid.uuid4().hex[:6]}"
    url = f"{api_url}/api/v1/fleets/{fleet_id}/provision"
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        started_at = time.perf_counter()
        response = await http.post(url, json=body)
        response.raise_for_status()
        while True:
            reply = await http.get(url)
            if reply.status_code == 503:
                # The fleet's worker did not answer the status query in time (busy with
                # 1,000 runs): the API says "try again", and so the benchmark does.
                await asyncio.sleep(0.25)
                continue
            reply.raise_for_status()
            status = reply.json()
            if status["state"] == "COMPLETED":
                break
            await asyncio.sleep(0.25)
        elapsed = time.perf_counter() - started_at
    succeeded = status["counts"]["SUCCEEDED"]
    if succeeded != len(device_ids):
        raise SystemExit(f"devprov fleet: only {succeeded}/{len(device_ids)} succeeded: {status}")
    return elapsed


async def _raw_fleet(
    client: Client, device_ids: list[str], max_in_flight: int, same_io: RawFleet | None = None
) -> float:
    """The raw fleet's seconds: trivial activities, or `same_io`'s device, cloud and
    registry I/O."""
    fleet = RawFleet(
        device_ids=device_ids,
        max_in_flight=max_in_flight,
        edge_queue="raw-edge",
        central_queue="raw-central",
        registry_steps=True,
    )
    if same_io is not None:
        fleet = same_io.model_copy(update={"device_ids": device_ids})
    started_at = time.perf_counter()
    await client.execute_workflow(
        RawFleetRun.run,
        fleet,
        id=f"raw-fleet-{uuid.uuid4().hex[:6]}",
        task_queue="raw-central",
    )
    return time.perf_counter() - started_at


async def run(devices: int, rounds: int, max_in_flight: int, cloud_quota: int) -> dict[str, Any]:
    prefix = uuid.uuid4().hex[:4]
    warm = max(10, devices // 20)
    ids = {
        (side, r): [f"{side[0]}{prefix}-{r}-{n:05d}" for n in range(warm if r < 0 else devices)]
        for side in SIDES
        for r in range(-1, rounds)
    }
    simulated = [d for (side, _), group in ids.items() if side != "raw" for d in group]
    figures: dict[str, list[float]] = {side: [] for side in SIDES}
    figures |= {"ratio": [], "ratio_to_raw_io": []}
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        data_dir = Path(tmp)
        server = await start_dev_server(data_dir=data_dir, port=free_port(), ui_port=None)
        try:
            async with (
                http_device_simulator(simulated, 0.0, data_dir) as simulator_url,
                cloud_simulator(cloud_quota, data_dir) as cloud_url,
                bench_registry(data_dir) as registry,
            ):
                settings = Settings(
                    temporal=TemporalSettings.defaults(address=server.address),
                    http_wifi=HttpWifiSettings.defaults(
                        address_template=f"{simulator_url}/devices/{{device_id}}"
                    ),
                    edge=EdgeSettings.defaults(capabilities=("http-wifi",)),
                    cloud=CloudSettings.defaults(url=cloud_url),
                    worker=WorkerSettings.defaults(data_dir=data_dir),
                )
                client, api = await start_bench_api(settings, registry)
                same_io = RawFleet(
                    device_ids=[],
                    max_in_flight=max_in_flight,
                    edge_queue="raw-edge",
                    central_queue="raw-central",
                    device_url_template=f"{simulator_url}/devices/{{device_id}}",
                    cloud=RawCloud(
                        url=cloud_url,
                        api_key=settings.cloud.api_key,
                        claim_token=settings.cloud.claim_token,
                    ),
                    registry_path=str(data_dir / "raw-registry.db"),
                )
                try:
                    async with (
                        httpx.AsyncClient(timeout=30, trust_env=False) as raw_http,
                        central_activities(settings) as cloud_activities,
                        central_worker(client, activities=cloud_activities, registry=registry),
                        edge_node(client, settings, site="bench", host="gw1"),
                        Worker(
                            client,
                            task_queue="raw-central",
                            workflows=[RawFleetRun, RawDeviceRun],
                            activities=[raw_step, *RawDeviceActivities(raw_http).all()],
                            workflow_runner=RAW_WORKFLOW_RUNNER,
                        ),
                        Worker(
                            client,
                            task_queue="raw-edge",
                            activities=[raw_step, *RawDeviceActivities(raw_http).all()],
                            max_concurrent_activities=50,
                        ),  # fmt: skip
                    ):
                        for r in range(-1, rounds):
                            seconds = {
                                "devprov": await _devprov_fleet(
                                    api.url, ids["devprov", r], max_in_flight
                                )
                            }
                            await _settle(client)
                            seconds["raw"] = await _raw_fleet(client, ids["raw", r], max_in_flight)
                            await _settle(client)
                            seconds["raw-io"] = await _raw_fleet(
                                client, ids["raw-io", r], max_in_flight, same_io
                            )
                            await _settle(client)
                            if r < 0:  # the warm-up
                                continue
                            for side in SIDES:
                                figures[side].append(devices / seconds[side])
                            figures["ratio"].append(seconds["raw"] / seconds["devprov"])
                            figures["ratio_to_raw_io"].append(
                                seconds["raw-io"] / seconds["devprov"]
                            )
                            rates = ", ".join(f"{s} {devices / seconds[s]:.2f}" for s in SIDES)
                            print(f"round {r + 1}: {rates} devices/s", flush=True)
                    async with httpx.AsyncClient(trust_env=False) as http:
                        quota = (await http.get(f"{cloud_url}/_sim/cloud/state")).json()["quota"]
                finally:
                    await api.close()
        finally:
            await server.stop()
    return {
        "devices": devices,
        "rounds": rounds,
        "max_in_flight": max_in_flight,
        "devprov_devices_per_second": spread(figures["devprov"]),
        "raw_temporal_devices_per_second": spread(figures["raw"]),
        "raw_io_devices_per_second": spread(figures["raw-io"]),
        "devprov_over_raw_throughput": spread(figures["ratio"], 3),
        "devprov_over_raw_io_throughput": spread(figures["ratio_to_raw_io"], 3),
        "target": ">= 0.9",
        "cloud_quota_per_second": cloud_quota,
        "cloud_peak_offered_per_second": quota["peak_offered_per_second"],
        "cloud_peak_admitted_per_second": quota["peak_admitted_per_second"],
        "cloud_throttled_requests": quota["throttled_total"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(figure: dict[str, float]) -> str:
    return f"{figure['median']} ({figure['min']}-{figure['max']})"


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['devices']} composite devices a fleet, {result['rounds']} rounds "
        "(devprov/raw/raw-io alternated); median (min-max)",
        f"{'devprov (devices/s)':<28} {_fmt(result['devprov_devices_per_second'])}",
        f"{'raw (devices/s)':<28} {_fmt(result['raw_temporal_devices_per_second'])}",
        f"{'raw, same I/O (devices/s)':<28} {_fmt(result['raw_io_devices_per_second'])}",
        f"{'ratio to raw (>= 0.9)':<28} {_fmt(result['devprov_over_raw_throughput'])}",
        f"{'ratio to raw, same I/O':<28} {_fmt(result['devprov_over_raw_io_throughput'])}",
        f"at most {result['max_in_flight']} in flight; "
        f"cloud peak {result['cloud_peak_admitted_per_second']} req/s admitted of a quota of "
        f"{result['cloud_quota_per_second']}, {result['cloud_throttled_requests']} throttled",
        f"load average at the end: {result['load_average']}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-in-flight", type=int, default=50)
    parser.add_argument("--cloud-quota", type=int, default=100, help="cloud requests/s")
    parser.add_argument("--json", type=Path, default=Path("bench/results/fleet_throughput.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args.devices, args.rounds, args.max_in_flight, args.cloud_quota))
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
