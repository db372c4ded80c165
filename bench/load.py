"""The load generator of `bench.pipeline`, in a process of its own so that its CPU is
neither devprov's nor the baseline's: starts one phase's runs at once and waits until
every one has finished.

    python -m bench.load '<Phase as JSON>'

Prints one JSON line: the phase's wall-clock seconds and this process's CPU seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Literal

import aiohttp
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.raw_temporal import STATE, RawProvisioning, RawProvisioningRun
from config.settings import Settings, TemporalSettings, WorkerSettings
from connection.temporal_client import connect

JSON = {"Content-Type": "application/json"}

BODY = {
    "device": {"type": "wifi-relay", "vendor": "shelly", "capabilities": ["wifi", "http-rpc"]},
    "network": {"ssid": "devprov-lab", "passphrase": "correct-horse-battery"},
}


class Phase(BaseModel):
    """One phase of a round: whose runs, on which devices."""

    kind: Literal["devprov", "raw", "raw-io"]
    temporal_address: str
    data_dir: Path
    device_ids: list[str]
    api_url: str = ""
    site: str = "bench"
    simulator_url: str = ""
    registry_path: str = ""


def devprov_body(site: str) -> dict[str, object]:
    """The provision request of one simulated HTTP Wi-Fi device at `site`."""
    return {**BODY, "device": {**BODY["device"], "site": site}}  # type: ignore[dict-item]


async def _start_over_http(session: aiohttp.ClientSession, url: str, body: bytes) -> str | None:
    """POST one start; None when the API took it (202), else what it answered."""
    async with session.post(url, data=body, headers=JSON) as response:
        return None if response.status == 202 else await response.text()


async def _devprov(phase: Phase, client: Client) -> None:
    # The client is not devprov, yet it shares this machine's two cores: aiohttp's costs
    # 0.2 ms of CPU a request with 200 in flight, httpx's 2.6-3.3 ms (measured alike).
    body = json.dumps(devprov_body(phase.site)).encode()
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
        answers = await asyncio.gather(
            *(
                _start_over_http(session, f"{phase.api_url}/api/v1/devices/{d}/provision", body)
                for d in phase.device_ids
            )
        )
    bad = [answer for answer in answers if answer is not None]
    if bad:
        raise SystemExit(f"{len(bad)} starts refused: {bad[:3]}")
    await asyncio.gather(
        *(client.get_workflow_handle(f"provision-{d}").result() for d in phase.device_ids)
    )


def raw_run(phase: Phase, device_id: str) -> RawProvisioning:
    """The baseline's input for one device of `phase`."""
    same_io = phase.kind == "raw-io"
    return RawProvisioning(
        device_id=device_id,
        central_queue="raw-central",
        edge_queue="raw-edge",
        device_url=f"{phase.simulator_url}/devices/{device_id}" if same_io else None,
        registry_path=phase.registry_path if same_io else None,
    )


async def _raw(phase: Phase, client: Client) -> None:
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                RawProvisioningRun.run,
                raw_run(phase, d),
                id=f"{phase.kind}-{d}",
                task_queue="raw-central",
                # devprov's API sets its attributes at start too (free of actions).
                search_attributes=TypedSearchAttributes([SearchAttributePair(STATE, "PENDING")]),
                request_eager_start=True,  # as devprov's API asks
            )
            for d in phase.device_ids
        )
    )
    await asyncio.gather(*(h.result() for h in handles))


async def run(phase: Phase) -> dict[str, float]:
    """Start the phase's runs at once and wait for all; seconds and CPU seconds."""
    settings = Settings(
        temporal=TemporalSettings.defaults(address=phase.temporal_address),
        worker=WorkerSettings.defaults(data_dir=phase.data_dir),
    )
    client = await connect(settings, sdk_metrics=False)
    cpu_before, started_at = time.process_time(), time.perf_counter()
    await (_devprov(phase, client) if phase.kind == "devprov" else _raw(phase, client))
    return {
        "seconds": time.perf_counter() - started_at,
        "cpu_seconds": time.process_time() - cpu_before,
    }


def main() -> None:
    result = asyncio.run(run(Phase.model_validate_json(sys.argv[1])))
    print(json.dumps(result), flush=True)
    # The result is out: leave without the interpreter's finalization, during which
    # grpc's threads now and then abort the process (PyGILState_Release), failing a
    # phase that had finished.
    os._exit(0)


if __name__ == "__main__":
    main()
