"""Fleet throughput: devprov against raw Temporal of the same shape, in one run.

    .venv/bin/python -m bench.fleet_throughput --devices 1000

Starts its own dev server (SQLite file with the WAL pragmas, as `make run` does) in a
temporary directory, the HTTP device simulator with N devices, the vendor-cloud
simulator with a request quota, a central and an edge worker and the API; provisions a
fleet of N composite (`wifi-cloud`) devices through the API, then runs the raw baseline
fleet of the same shape on the same server, and prints devices per second of both, their
ratio, and the peak request rate the cloud saw against its quota (a table; JSON in
`--json`, default `bench/results/fleet_throughput.json`). Everything is on loopback;
everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from temporalio.worker import Worker

from bench.raw_temporal import RawDeviceRun, RawFleet, RawFleetRun, raw_step
from bench.stack import free_port, start_bench_api
from config.settings import (
    CloudSettings,
    EdgeSettings,
    HttpWifiSettings,
    Settings,
    TemporalSettings,
    WorkerSettings,
)
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from simulators.wifi_cloud import CloudConfig, QuotaConfig, start_cloud_simulator
from worker.central import central_activities
from worker.dev_server import start_dev_server
from worker.edge import edge_node
from worker.workers import central_worker


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
            status = (await http.get(url)).json()
            if status["state"] == "COMPLETED":
                break
            await asyncio.sleep(0.25)
        elapsed = time.perf_counter() - started_at
    succeeded = status["counts"]["SUCCEEDED"]
    if succeeded != len(device_ids):
        raise SystemExit(f"devprov fleet: only {succeeded}/{len(device_ids)} succeeded: {status}")
    return elapsed


async def run(devices: int, max_in_flight: int, cloud_quota: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="devprov-bench-") as tmp:
        temporal_port = free_port()
        server = await start_dev_server(data_dir=Path(tmp), port=temporal_port, ui_port=None)
        try:
            device_ids = [f"bench-{n:05d}" for n in range(devices)]
            fleet = WifiDeviceFleet([SimulatedWifiDevice(d, join_delay=0.0) for d in device_ids])
            simulator = await start_simulator(fleet, "127.0.0.1", 0)
            cloud = await start_cloud_simulator(
                CloudConfig(
                    auto_checkin_delay=0.0,
                    quota=QuotaConfig(global_per_second=cloud_quota),
                ),
                "127.0.0.1",
                0,
            )
            settings = Settings(
                temporal=TemporalSettings.defaults(address=server.address),
                http_wifi=HttpWifiSettings.defaults(
                    address_template=f"{simulator.base_url}/devices/{{device_id}}"
                ),
                edge=EdgeSettings.defaults(capabilities=("http-wifi",)),
                cloud=CloudSettings.defaults(url=cloud.base_url),
                worker=WorkerSettings.defaults(data_dir=Path(tmp)),
            )
            client, api = await start_bench_api(settings)
            try:
                async with (
                    central_activities(settings) as cloud_activities,
                    central_worker(client, activities=cloud_activities),
                    edge_node(client, settings, site="bench", host="gw1"),
                    Worker(
                        client,
                        task_queue="raw-central",
                        workflows=[RawFleetRun, RawDeviceRun],
                        activities=[raw_step],
                    ),
                    Worker(client, task_queue="raw-edge", activities=[raw_step]),
                ):
                    devprov_seconds = await _devprov_fleet(api.url, device_ids, max_in_flight)
                    started_at = time.perf_counter()
                    await client.execute_workflow(
                        RawFleetRun.run,
                        RawFleet(
                            device_ids=device_ids,
                            max_in_flight=max_in_flight,
                            edge_queue="raw-edge",
                            central_queue="raw-central",
                        ),
                        id=f"raw-fleet-{uuid.uuid4().hex[:6]}",
                        task_queue="raw-central",
                    )
                    raw_seconds = time.perf_counter() - started_at
                quota = cloud.cloud.snapshot()["quota"]
            finally:
                await api.close()
                await simulator.close()
                await cloud.close()
        finally:
            await server.stop()
    return {
        "devices": devices,
        "max_in_flight": max_in_flight,
        "devprov_seconds": round(devprov_seconds, 2),
        "devprov_devices_per_second": round(devices / devprov_seconds, 2),
        "raw_temporal_seconds": round(raw_seconds, 2),
        "raw_temporal_devices_per_second": round(devices / raw_seconds, 2),
        "devprov_over_raw_throughput": round(raw_seconds / devprov_seconds, 3),
        "cloud_quota_per_second": cloud_quota,
        "cloud_peak_offered_per_second": quota["peak_offered_per_second"],  # type: ignore[index]
        "cloud_peak_admitted_per_second": quota["peak_admitted_per_second"],  # type: ignore[index]
        "cloud_throttled_requests": quota["throttled_total"],  # type: ignore[index]
    }


def table(result: dict[str, object]) -> str:
    lines = [
        f"{'figure':<30} {'devprov':>10} {'raw':>10} {'ratio':>7}",
        f"{'fleet throughput (devices/s)':<30} {result['devprov_devices_per_second']!s:>10} "
        f"{result['raw_temporal_devices_per_second']!s:>10} "
        f"{result['devprov_over_raw_throughput']!s:>7}",
        f"{result['devices']} composite devices, at most {result['max_in_flight']} in flight; "
        f"cloud peak {result['cloud_peak_admitted_per_second']} req/s admitted of a quota of "
        f"{result['cloud_quota_per_second']}, {result['cloud_throttled_requests']} throttled",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--max-in-flight", type=int, default=50)
    parser.add_argument("--cloud-quota", type=int, default=100, help="cloud requests/s")
    parser.add_argument("--json", type=Path, default=Path("bench/results/fleet_throughput.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args.devices, args.max_in_flight, args.cloud_quota))
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
