"""`make run`'s stack as a user meets it: one process, real server, real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiobotocore.session import AioSession

from simulators.aws_iot import (
    AWS_EXAMPLE_DEVICE,
    LOCAL_ACCESS_KEY_ID,
    LOCAL_REGION,
    LOCAL_SECRET_ACCESS_KEY,
)
from tests.integration.test_secret_scan import spellings
from tests.network import free_port
from tests.sse import read_events

ROOT = Path(__file__).resolve().parents[2]
E2E_KEY = "dpk_e2e_Q7vX2mLp9tRb4KzW8nYc3HdF6sJa"
AUTH = {"Authorization": f"Bearer {E2E_KEY}"}
EXAMPLES = sorted((ROOT / "examples" / "requests").glob("*.json"))


class PortTaken(Exception):
    """A port chosen for the stack was taken before the stack could bind it."""


class Stack:
    """The embedded stack in a child process, on free ports and its own data dir."""

    PORTS = (
        "DEVPROV_TEMPORAL_PORT",
        "DEVPROV_TEMPORAL_UI_PORT",
        "DEVPROV_API_PORT",
        "DEVPROV_SIMULATOR_HTTP_PORT",
        "DEVPROV_SIMULATOR_BLE_PORT",
        "DEVPROV_SIMULATOR_BLE_HCI_PORT",
        "DEVPROV_SIMULATOR_ZIGBEE_PORT",
        "DEVPROV_SDK_METRICS_PORT",
        "DEVPROV_CODEC_PORT",
        "DEVPROV_CLOUD_PORT",
        "DEVPROV_AWS_LOCAL_PORT",
    )

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.env = {
            **os.environ,
            **(extra_env or {}),
            "DEVPROV_DATA_DIR": str(data_dir),
            "DEVPROV_METRICS_REFRESH": "0.5",
            "DEVPROV_API_KEY": E2E_KEY,
        }
        self.data_dir = data_dir
        self.process: subprocess.Popen[str] | None = None
        self._assign_ports()

    def _assign_ports(self) -> None:
        self.env.update({name: str(free_port()) for name in self.PORTS})
        self.api = f"http://127.0.0.1:{self.env['DEVPROV_API_PORT']}"
        self.temporal = f"127.0.0.1:{self.env['DEVPROV_TEMPORAL_PORT']}"

    async def start(self, tries: int = 3) -> str:
        """Start the stack; on a port taken meanwhile by another process, pick new ones."""
        for attempt in range(tries):
            try:
                return await self._start_once()
            except PortTaken:
                if attempt == tries - 1:
                    raise
                self._assign_ports()
        raise AssertionError("unreachable")

    async def _start_once(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker.embedded"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        banner: list[str] = []
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(90):
            while "Press Ctrl-C to stop." not in banner:
                line = await loop.run_in_executor(None, self.process.stdout.readline)
                if not line:
                    self.process.wait()
                    if any("address already in use" in b for b in banner):
                        raise PortTaken("\n".join(banner))
                    raise AssertionError("stack exited early:\n" + "\n".join(banner))
                banner.append(line.strip())
        return "\n".join(banner)

    async def stop(self) -> tuple[int, str]:
        assert self.process is not None
        assert self.process.stdout is not None
        self.process.send_signal(signal.SIGINT)
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, lambda: self.process.wait(timeout=60))  # type: ignore[union-attr]
        rest = self.process.stdout.read()
        return code, rest

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    running = Stack(tmp_path / "data")
    try:
        yield running
    finally:
        running.kill()


async def provision_and_follow(api: str, request_file: Path) -> list[dict[str, object]]:
    device_id = request_file.stem
    base = f"{api}/api/v1/devices/{device_id}/provision"
    async with httpx.AsyncClient(timeout=60, headers=AUTH) as client:
        started = await client.post(
            base,
            content=request_file.read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        assert started.status_code == 202, started.text
        assert started.headers["Location"].endswith(f"/devices/{device_id}/provision")
        return [event.data async for event in read_events(client, f"{base}/events")]


async def test_every_example_request_provisions_its_device_and_runs_survive_a_restart(
    stack: Stack,
) -> None:
    assert len(EXAMPLES) >= 1
    banner = await stack.start()
    assert stack.api in banner
    assert f"http://127.0.0.1:{stack.env['DEVPROV_TEMPORAL_UI_PORT']}" in banner

    streams = await asyncio.gather(*(provision_and_follow(stack.api, f) for f in EXAMPLES))
    for request_file, events in zip(EXAMPLES, streams, strict=True):
        states = [event["state"] for event in events]
        assert states[-1] == "SUCCEEDED", (request_file.name, states)
        assert {"DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING"} <= set(states)
    await assert_the_local_aws_holds_the_aws_example(stack, banner)
    registered = await in_service_records(stack)
    assert set(registered) == {f.stem for f in EXAMPLES}
    assert all(record["network_ssid"] or record["zigbee_ieee"] for record in registered.values())
    database = stack.data_dir / "registry" / "registry.db"
    assert database.stat().st_mode & 0o777 == 0o600

    device_id = EXAMPLES[0].stem
    listed = subprocess.run(
        [
            "temporal",
            "workflow",
            "list",
            "--address",
            stack.temporal,
            "--query",
            f'DeviceId="{device_id}" AND ProvisioningState="SUCCEEDED"',
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"provision-{device_id}" in listed.stdout
    audit = [json.loads(line) for line in (stack.data_dir / "audit.jsonl").read_text().splitlines()]
    mine = [r for r in audit if r.get("device_id") == device_id]
    assert [r["state"] for r in mine if r["kind"] == "state"][-1] == "SUCCEEDED"
    assert {r["stage"] for r in mine if r["kind"] == "stage"} == {
        "registry",
        "detect",
        "pre_check",
        "provision",
        "confirm",
    }

    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        metrics = (await client.get(f"{stack.api}/metrics")).text
        sdk_port = stack.env["DEVPROV_SDK_METRICS_PORT"]
        sdk_metrics = (await client.get(f"http://127.0.0.1:{sdk_port}/metrics")).text
    finished = [
        line
        for line in metrics.splitlines()
        if line.startswith("devprov_runs_finished_total{") and 'state="SUCCEEDED"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in finished) == len(EXAMPLES)
    assert "devprov_stage_duration_seconds_bucket" in metrics
    assert "temporal_" in sdk_metrics

    assert_no_secret_in_clear(stack, metrics)

    code, output = await stack.stop()
    assert code == 0, output
    assert "devprov stopped" in output

    await stack.start()
    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        status = await client.get(f"{stack.api}/api/v1/devices/{device_id}/provision")
        again = await client.post(
            f"{stack.api}/api/v1/devices/{device_id}/provision",
            content=EXAMPLES[0].read_bytes(),
            headers={"Content-Type": "application/json"},
        )
    assert status.status_code == 200
    assert json.loads(status.text)["state"] == "SUCCEEDED"
    # The registry survived the restart: every device is still in service, and is not
    # provisioned a second time.
    assert await in_service_records(stack) == registered
    assert (again.status_code, again.json()["code"]) == (409, "DEVICE_IN_SERVICE")
    code, _ = await stack.stop()
    assert code == 0


async def in_service_records(stack: Stack) -> dict[str, dict[str, object]]:
    """The registry's in-service records, by device id (every page)."""
    records: dict[str, dict[str, object]] = {}
    params = {"state": "IN_SERVICE", "limit": "3"}
    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        while True:
            page = (await client.get(f"{stack.api}/api/v1/devices", params=params)).json()
            records |= {item["device_id"]: item for item in page["items"]}
            if page["next_cursor"] is None:
                return records
            params["cursor"] = page["next_cursor"]


FLEET = ROOT / "examples" / "fleets" / "line-100.json"

QUICK_FAILURE_POLICY = {
    # The line's faulty plugs never join: give up on them in seconds, not minutes.
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__START_TO_CLOSE": "4s",
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "1",
}


async def test_fleet_example_provisions_the_line_with_live_aggregate_progress(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path / "data", QUICK_FAILURE_POLICY)
    try:
        await stack.start()
        base = f"{stack.api}/api/v1/fleets/line/provision"
        async with httpx.AsyncClient(timeout=120, headers=AUTH) as client:
            started = await client.post(
                base, content=FLEET.read_bytes(), headers={"Content-Type": "application/json"}
            )
            assert started.status_code == 202, started.text
            snapshots = [event.data async for event in read_events(client, f"{base}/events")]
        code, _ = await stack.stop()
    finally:
        stack.kill()

    final = snapshots[-1]
    assert final["state"] == "COMPLETED"
    assert final["counts"]["SUCCEEDED"] == 90
    assert final["failures_by_code"] == {"NETWORK_JOIN_TIMEOUT": 10}
    assert len(snapshots) > 2
    assert code == 0


def example_secrets() -> set[str]:
    """Every secret the example requests carry (passphrases, install codes)."""
    found: set[str] = set()
    for path in EXAMPLES:
        body = json.loads(path.read_text())
        if body.get("network", {}).get("passphrase"):
            found.add(body["network"]["passphrase"])
        for value in body.get("secrets", {}).values():
            found.add(value)
            found.add(value.replace(" ", "").replace(":", ""))
    return found


async def assert_the_local_aws_holds_the_aws_example(stack: Stack, banner: str) -> None:
    """The banner names the local AWS on a line of its own, and that AWS lists the AWS
    example's thing with an ACTIVE certificate attached (asked with the SDK, not devprov)."""
    aws_url = f"http://127.0.0.1:{stack.env['DEVPROV_AWS_LOCAL_PORT']}"
    assert any("AWS" in line and aws_url in line for line in banner.splitlines()), banner
    async with AioSession().create_client(
        "iot",
        region_name=LOCAL_REGION,
        endpoint_url=aws_url,
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
    ) as iot:
        listed = [t["thingName"] for t in (await iot.list_things())["things"]]
        assert listed == [AWS_EXAMPLE_DEVICE]
        [principal] = (await iot.list_thing_principals(thingName=AWS_EXAMPLE_DEVICE))["principals"]
        certificate_id = principal.rpartition("/")[2]
        described = await iot.describe_certificate(certificateId=certificate_id)
        assert described["certificateDescription"]["status"] == "ACTIVE"


def assert_no_secret_in_clear(stack: Stack, metrics: str) -> None:
    """The secret scan: raw histories (read without the codec), audit log, metrics."""
    raw_histories = []
    for path in EXAMPLES:
        shown = subprocess.run(
            [
                "temporal",
                "workflow",
                "show",
                "--address",
                stack.temporal,
                "--workflow-id",
                f"provision-{path.stem}",
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        raw_histories.append(shown.stdout)
    surfaces = {
        "raw histories": "\n".join(raw_histories),
        "audit log": (stack.data_dir / "audit.jsonl").read_text(),
        "metrics": metrics,
    }
    secrets = example_secrets()
    assert len(secrets) >= 2
    secrets.add(LOCAL_SECRET_ACCESS_KEY)  # the AWS SDK's, in the stack's environment
    for secret in secrets:
        for name, text in surfaces.items():
            for form in spellings(secret):
                assert form not in text, f"a secret shows in the {name}"
