"""A stack whose parts can be killed: the chaos tests' world.

The Temporal dev server (SQLite file, as `make run` keeps it) and the central and edge
workers run as child processes that a test SIGKILLs or stops and starts again; the API
and the simulated devices and cloud run in the test's own process, so their side-effect
counters outlive every crash. Everything binds to 127.0.0.1 on free ports, and the
fixture stops every process it started.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from api import ApiDependencies, ApiServer, start_api
from config.policies import load_policy_book
from config.settings import ApiSettings, Settings
from connection.codec import data_converter
from simulators.http_wifi import (
    RunningSimulator,
    SimulatedWifiDevice,
    WifiDeviceFleet,
    start_simulator,
)
from simulators.http_wifi.fleet import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from simulators.wifi_cloud import CloudConfig, RunningCloud, start_cloud_simulator
from strategies.catalog import build_registry
from tests.conftest import TEST_KEY_RING
from tests.network import free_port
from worker.dev_server import DevServer, start_dev_server

ROOT = Path(__file__).resolve().parents[2]
SITE = "chaos"
EDGE_HOST = "gw1"
TERMINAL = {"SUCCEEDED", "FAILED_VALIDATION", "FAILED", "ROLLED_BACK", "CANCELLED"}
IN_FLIGHT = ("DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING")
_RPC_TIMEOUT = timedelta(seconds=3)

CHAOS_POLICY_ENV = {
    # A crashed worker's activity is noticed when its start-to-close (or heartbeat)
    # timeout passes: short timeouts make a crash cost seconds, not minutes. Every
    # step may be tried often, so a crash or an injected fault is never the last try.
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "300ms",
    "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "60s",
    "DEVPROV_POLICY__DEFAULTS__WAITS__PINNED_WORKER_TIMEOUT": "60s",
    **{
        f"DEVPROV_POLICY__DEFAULTS__STEPS__{step}__{knob}": value
        for step in ("DETECT", "PRE_CHECK", "PROVISION", "CONFIRM", "ROLLBACK")
        for knob, value in (
            ("START_TO_CLOSE", "5s"),
            ("RETRY__INITIAL_INTERVAL", "200ms"),
            ("RETRY__MAXIMUM_INTERVAL", "1s"),
            ("RETRY__MAXIMUM_ATTEMPTS", "20"),
        )
    },
    **{
        f"DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__{step}__{knob}": value
        for step in ("PROVISION", "CONFIRM", "ROLLBACK")
        for knob, value in (
            ("START_TO_CLOSE", "5s"),
            ("RETRY__INITIAL_INTERVAL", "200ms"),
            ("RETRY__MAXIMUM_INTERVAL", "1s"),
        )
    },
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__START_TO_CLOSE": "8s",
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__HEARTBEAT": "2s",
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "20",
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__START_TO_CLOSE": "5s",
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__HEARTBEAT": "2s",
    "DEVPROV_POLICY__DEFAULTS__STEPS__CONFIRM__HEARTBEAT": "2s",
}


def chaos_size(name: str, default: int) -> int:
    """A size of the chaos tests: CI sizes by default, `make chaos` sets bigger ones."""
    return int(os.environ.get(f"DEVPROV_CHAOS_{name}", default))


def chaos_seed() -> int:
    """The seed of this session's random choices (`DEVPROV_CHAOS_SEED` replays one)."""
    raw = os.environ.get("DEVPROV_CHAOS_SEED")
    return int(raw) if raw else random.SystemRandom().randrange(1 << 32)


START_ATTEMPTS = 10
"""A start answered 503 while Temporal is down is sent again, once a second."""


@dataclass
class WorkerProcess:
    """`python -m worker.central` or `python -m worker.edge` as a child process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", *self.argv],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    async def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the worker of the latest start says it is polling."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if text.count("polling") >= self.starts:
                return
            assert self.process is not None
            assert self.process.poll() is None, f"{self.name} worker exited:\n{self.log_tail()}"
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} worker not polling after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, activities and workflow tasks cut mid-way."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ChaosStack:
    """Dev server and workers as processes; API and simulators in this process."""

    tmp: Path
    devices: list[SimulatedWifiDevice]
    cloud_config: CloudConfig
    policy_env: dict[str, str] = field(default_factory=lambda: dict(CHAOS_POLICY_ENV))
    temporal_port: int = field(default_factory=free_port)
    server: DevServer | None = None
    client: Client | None = None
    simulator: RunningSimulator | None = None
    cloud: RunningCloud | None = None
    api: ApiServer | None = None
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    last_snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    async def start(self) -> None:
        await self.start_server()
        self.client = await Client.connect(
            self.address, data_converter=data_converter(TEST_KEY_RING)
        )
        self.simulator = await start_simulator(WifiDeviceFleet(self.devices), "127.0.0.1", 0)
        self.cloud = await start_cloud_simulator(self.cloud_config, "127.0.0.1", 0)
        env = {
            **os.environ,
            "DEVPROV_TEMPORAL_ADDRESS": self.address,
            "DEVPROV_CODEC_KEYS": TEST_KEY_RING.dump(),
            "DEVPROV_DATA_DIR": str(self.tmp / "data"),
            "DEVPROV_CLOUD_URL": self.cloud.base_url,
            "DEVPROV_HTTP_DEVICE_ADDRESS_TEMPLATE": (
                f"{self.simulator.base_url}/devices/{{device_id}}"
            ),
            "DEVPROV_HTTP_DEVICE_TIMEOUT": "2",
            "DEVPROV_EDGE_CAPABILITIES": "http-wifi",
            "DEVPROV_SITE": SITE,
            "DEVPROV_EDGE_HOST": EDGE_HOST,
            "DEVPROV_AUDIT_LOG": str(self.tmp / "audit.jsonl"),
        }
        for name in ("DEVPROV_SDK_METRICS_PORT", "DEVPROV_WORKER_METRICS_PORT"):
            env.pop(name, None)
        self.workers = {
            "central": WorkerProcess("central", ["worker.central"], env, self.tmp / "central.log"),
            "edge": WorkerProcess(
                "edge",
                ["worker.edge", "--site", SITE, "--host", EDGE_HOST],
                env,
                self.tmp / "edge.log",
            ),
        }
        for worker in self.workers.values():
            worker.start()
        for worker in self.workers.values():
            await worker.wait_ready()
        self.api = await start_api(
            ApiDependencies(
                temporal=self.client,
                registry=build_registry(),
                policies=load_policy_book(environ=self.policy_env),
                settings=Settings(api=ApiSettings.defaults(sse_poll_interval_seconds=0.3)),
            ),
            "127.0.0.1",
            0,
        )

    async def start_server(self) -> None:
        (self.tmp / "data").mkdir(parents=True, exist_ok=True)
        self.server = await start_dev_server(
            data_dir=self.tmp / "data", port=self.temporal_port, ui_port=None
        )

    async def restart_server(self, down_for: float) -> None:
        """Stop the dev server, wait, start it again on the same SQLite file and port."""
        assert self.server is not None
        await self.server.stop()
        await asyncio.sleep(down_for)
        await self.start_server()

    async def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        if self.api is not None:
            await self.api.close()
        if self.simulator is not None:
            await self.simulator.close()
        if self.cloud is not None:
            await self.cloud.close()
        if self.server is not None:
            await self.server.stop()

    def diagnostics(self) -> str:
        return "\n".join(
            f"--- {name} worker (started {w.starts}x) ---\n{w.log_tail()}"
            for name, w in self.workers.items()
        )

    # What a user does and sees.

    async def provision(self, http: httpx.AsyncClient, device_id: str) -> None:
        assert self.api is not None
        body = {
            "device": {
                "type": "wifi-hub",
                "vendor": "acme",
                "capabilities": ["wifi", "http-rpc", "vendor-cloud"],
                "site": SITE,
            },
            "network": {"ssid": LAB_NETWORK_SSID, "passphrase": LAB_NETWORK_PASSPHRASE},
        }
        url = f"{self.api.url}/api/v1/devices/{device_id}/provision"
        # As a client should: a start the API answered 503 (Temporal was down, e.g. being
        # restarted) is sent again, with the same Idempotency-Key; one that took effect
        # all the same is then the device's run in progress.
        headers = {"Idempotency-Key": f"chaos-start-{device_id}"}
        for attempt in range(START_ATTEMPTS):
            response = await http.post(url, json=body, headers=headers)
            if response.status_code != 503 or attempt == START_ATTEMPTS - 1:
                break
            await asyncio.sleep(1.0)
        started = response.status_code == 202 or (
            attempt > 0 and response.json().get("code") == "RUN_IN_PROGRESS"
        )
        assert started, response.text

    async def state_of(self, http: httpx.AsyncClient, device_id: str) -> str | None:
        """The run's state as `GET .../provision` shows it; None while it cannot answer."""
        assert self.api is not None
        try:
            response = await http.get(f"{self.api.url}/api/v1/devices/{device_id}/provision")
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        snapshot = response.json()
        self.last_snapshots[device_id] = snapshot
        state: str = snapshot["state"]
        return state

    def explain(self, device_ids: Iterable[str]) -> str:
        """The last snapshot seen of each run: error and last events."""
        lines = []
        for device_id in device_ids:
            snapshot = self.last_snapshots.get(device_id, {})
            events = [(e["state"], e["message"][:160]) for e in snapshot.get("events", [])[-5:]]
            lines.append(f"{device_id}: {snapshot.get('error')} {events}")
        return "\n".join(lines)

    async def wait_until_some_run_is_in(
        self, http: httpx.AsyncClient, device_ids: list[str], state: str, timeout: float
    ) -> bool:
        """Wait until one of the runs shows `state`; False if none did in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            states = await asyncio.gather(*(self.state_of(http, d) for d in device_ids))
            if state in states:
                return True
            if all(s in TERMINAL for s in states):
                return False
            await asyncio.sleep(0.1)
        return False

    async def wait_for_every_run_to_close(self, device_ids: Iterable[str], timeout: float) -> None:
        """Wait until Temporal shows every run closed (retries while the server is down)."""
        assert self.client is not None
        pending = set(device_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while pending and loop.time() < deadline:
            for device_id in sorted(pending):
                try:
                    handle = self.client.get_workflow_handle(f"provision-{device_id}")
                    described = await handle.describe(rpc_timeout=_RPC_TIMEOUT)
                except Exception:
                    await asyncio.sleep(0.5)
                    break
                if described.status != WorkflowExecutionStatus.RUNNING:
                    pending.discard(device_id)
            else:
                await asyncio.sleep(0.5)
        if pending:
            stuck = [await self.describe_stuck(d) for d in sorted(pending)[:3]]
            raise AssertionError(
                f"{len(pending)} runs never ended: {sorted(pending)[:5]}\n"
                + "\n".join(stuck)
                + f"\n{self.diagnostics()}"
            )

    async def describe_stuck(self, device_id: str) -> str:
        """Where a run that did not end stands: its pending activities and last events."""
        assert self.client is not None
        handle = self.client.get_workflow_handle(f"provision-{device_id}")
        try:
            described = await handle.describe(rpc_timeout=_RPC_TIMEOUT)
            progress = await handle.query("progress", rpc_timeout=_RPC_TIMEOUT)
        except Exception as error:
            return f"{device_id}: cannot describe: {error}"
        activities = [
            (a.activity_type.name, a.attempt, a.last_failure.message[:200])
            for a in described.raw_description.pending_activities
        ]
        events = [(e["state"], e["message"][:120]) for e in progress.get("events", [])[-6:]]
        return f"{device_id}: pending {activities}; last events {events}"

    async def final_states(self, http: httpx.AsyncClient, device_ids: list[str]) -> dict[str, str]:
        states: dict[str, str] = {}
        for device_id in device_ids:
            for _ in range(50):
                state = await self.state_of(http, device_id)
                if state is not None:
                    states[device_id] = state
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"no state for {device_id}\n{self.diagnostics()}")
        return states

    # What the devices and the cloud saw.

    def cloud_state(self) -> dict[str, Any]:
        assert self.cloud is not None
        return self.cloud.cloud.snapshot()

    def device(self, device_id: str) -> SimulatedWifiDevice:
        assert self.simulator is not None
        found = next(d for d in self.devices if d.device_id == device_id)
        return found


def new_devices(prefix: str, count: int, join_delay: float) -> list[SimulatedWifiDevice]:
    return [SimulatedWifiDevice(f"{prefix}-{n:04d}", join_delay=join_delay) for n in range(count)]
