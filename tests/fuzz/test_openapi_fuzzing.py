"""Schemathesis against the served OpenAPI document, on a live API.

Every operation of the document, the event streams included, with schemathesis'
default checks (all of them) plus our own: thousands of generated requests (valid and
invalid bodies, paths, queries, headers), the API never answers an undocumented 5xx,
and every answer conforms to the document (status code, content type, headers, schema,
and each event of an event stream). `DEVPROV_FUZZ_CASES` is the number of cases per
operation (`make chaos` raises it); `DEVPROV_FUZZ_SEED` replays a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import httpx
import pytest

from api import ApiServer
from api.openapi import openapi_document
from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from tests.fuzz.conftest import FINISHED_RUN_DEVICES
from tests.fuzz.schemathesis_hooks import STREAM_LOG
from tests.sse import read_events

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
CASES_PER_OPERATION = int(os.environ.get("DEVPROV_FUZZ_CASES", "40"))
"""40 in `make test` (57 operations took 65 s at 60, against `make test`'s 12-minute
budget; `make chaos` runs 1,000): the fuzzer reaches finished runs (their id comes back
in responses), and a progress query on a finished run replays its history in a worker
(about 0.1 s of CPU)."""
PHASES = os.environ.get("DEVPROV_FUZZ_PHASES", "examples,coverage,fuzzing")
"""`make chaos` adds the stateful phase (sequences of linked calls, each update waiting
for its run): 117 scenarios take about 400 s, beyond `make test`'s budget."""
STREAM_OPERATIONS = {
    "GET /api/v1/devices/{device_id}/provision/events",
    "GET /api/v1/devices/{device_id}/decommission/events",
    "GET /api/v1/fleets/{fleet_id}/provision/events",
}


def _dictionary(name: str) -> str:
    """The one value of a dictionary of schemathesis.toml."""
    config = tomllib.loads(CONFIG.read_text())
    (value,) = config["dictionaries"][name]["values"]
    assert isinstance(value, str)
    return value


def _operation_count() -> int:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(
        method in methods for item in openapi_document()["paths"].values() for method in item
    )


async def _finish_runs(api: ApiServer, site: str) -> None:
    """Provision a device, then a fleet of one, to their ends: their streams have events."""
    device_id, fleet_member = FINISHED_RUN_DEVICES
    assert device_id == _dictionary("finished-device-run")
    fleet_id = _dictionary("finished-fleet-run")
    device = {"type": "wifi-relay", "vendor": "shelly", "capabilities": ["wifi", "http-rpc"]}
    network = {"ssid": LAB_NETWORK_SSID, "passphrase": LAB_NETWORK_PASSPHRASE}
    base = f"{api.url}/api/v1"
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as http:
        started = await http.post(
            f"/devices/{device_id}/provision",
            json={"device": {"device_id": device_id, "site": site, **device}, "network": network},
        )
        assert started.status_code == 202, started.text
        fleet = await http.post(
            f"/fleets/{fleet_id}/provision",
            json={
                "template": {"site": site, **device},
                "devices": [{"device_id": fleet_member}],
                "network": network,
            },
        )
        assert fleet.status_code == 202, fleet.text
        async with asyncio.timeout(60):
            device_events = [
                e async for e in read_events(http, f"{base}/devices/{device_id}/provision/events")
            ]
            fleet_events = [
                e async for e in read_events(http, f"{base}/fleets/{fleet_id}/provision/events")
            ]
    assert device_events[-1].data["state"] == "SUCCEEDED", device_events[-1]
    assert fleet_events[-1].data["state"] == "COMPLETED", fleet_events[-1]


def _streams_read(log: Path) -> dict[str, int]:
    """Events read per stream operation, from the notes of the `after_call` hook."""
    events: dict[str, int] = {}
    lines = log.read_text().splitlines() if log.exists() else []
    for note in map(json.loads, lines):
        if note["status"] == 200:
            events[note["operation"]] = events.get(note["operation"], 0) + note["events"]
    return events


# `make chaos` (1,000 cases per operation and the stateful phase) took 1,337 s on 2 cores
# shared with other work: 930 s of cases over the 23 operations, 400 s of scenarios.
@pytest.mark.timeout(900 + 2 * CASES_PER_OPERATION)
async def test_generated_requests_never_get_a_5xx_and_every_answer_matches_the_document(
    live_api: ApiServer, site: str, tmp_path: Path
) -> None:
    binary = shutil.which("schemathesis")
    assert binary is not None, "schemathesis is installed with the test extra"
    await _finish_runs(live_api, site)
    seed = os.environ.get("DEVPROV_FUZZ_SEED")
    stream_log = tmp_path / "streams.jsonl"
    command = [
        binary,
        "--config-file",
        str(CONFIG),
        "run",
        f"{live_api.url}/api/v1/openapi.json",
        # Every operation: schemathesis leaves out the one that served the document
        # (`/api/v1/openapi.json`) unless a filter selects it.
        "--include-path-regex",
        "^/",
        "--max-examples",
        str(CASES_PER_OPERATION),
        "--phases",
        PHASES,
        # One worker: with two threads, CPython 3.11's `ast` sometimes fails inside
        # schemathesis' coverage phase ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        # Updates (credentials, retry, forget) wait up to 60 s for the run to take them;
        # the event streams have a shorter timeout of their own (schemathesis.toml).
        "--request-timeout",
        "75",
        "--no-color",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *(["--seed", seed] if seed else []),
    ]
    environment: dict[str, str] = {
        **os.environ,
        "NO_COLOR": "1",
        "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
        STREAM_LOG: str(stream_log),
    }
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=environment,
        cwd=tmp_path,
    )
    output_bytes, _ = await process.communicate()
    output = output_bytes.decode(errors="replace")
    print(output[-3000:])
    assert process.returncode == 0, output[-20000:]
    operations = _operation_count()
    assert f"Selected: {operations}/{operations}" in output, output[-3000:]
    assert re.search(rf"Tested: {operations}\b", output), output[-3000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-3000:]
    assert int(generated.group(1)) >= 10 * CASES_PER_OPERATION
    streams = _streams_read(stream_log)
    assert set(streams) == STREAM_OPERATIONS, streams
    assert all(events > 0 for events in streams.values()), streams
