"""Parts of the stack a benchmark runs as processes of their own: the simulated devices
(a device is another machine, its CPU is not devprov's), the API and the workers (so
that each one's memory and CPU can be read apart). Every process dies with the bench."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stack import free_port
from worker.dev_server import die_with_parent

ROOT = Path(__file__).resolve().parent.parent


async def spawn_module(
    argv: list[str], log: Path, env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`python -m <argv>` from the repository root, its output appended to `log`."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", *argv, cwd=ROOT, env=dict(env or os.environ), stdout=out,
            stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )  # fmt: skip


async def stop_process(process: asyncio.subprocess.Process, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it lingers past `timeout` seconds."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()


async def wait_for_log_line(
    text: str, process: asyncio.subprocess.Process, log: Path, timeout: float = 60.0
) -> None:
    """Until `text` appears in `log` (e.g. a worker's "polling"); fails with the log's
    tail if the process exits first or the time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in log_tail(log, size=1 << 20):
        if process.returncode is not None or loop.time() > deadline:
            raise SystemExit(f"{log.name} never said {text!r}:\n{log_tail(log)}")
        await asyncio.sleep(0.1)


async def wait_until_answers(
    url: str, process: asyncio.subprocess.Process, log: Path, timeout: float = 60.0
) -> None:
    """Until `GET url` answers 2xx; fails with the log's tail if the process exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url)).is_success:
                    return
            if process.returncode is not None or loop.time() > deadline:
                raise SystemExit(f"{url} did not answer:\n{log_tail(log)}")
            await asyncio.sleep(0.1)


def log_tail(log: Path, size: int = 3000) -> str:
    """The end of a process's log, for an error message."""
    return log.read_text(errors="replace")[-size:] if log.exists() else f"(no log at {log})"


@contextlib.asynccontextmanager
async def http_device_simulator(
    device_ids: list[str], join_delay: float, data_dir: Path
) -> AsyncIterator[str]:
    """`python -m simulators.http_wifi` with `device_ids` added through its control API;
    yields its base URL (devices at `<url>/devices/<id>`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "http-simulator.log"
    process = await spawn_module(
        ["simulators.http_wifi", "--port", str(port), "--log-level", "WARNING"], log
    )
    try:
        await wait_until_answers(f"{url}/_sim/devices", process, log)
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            for device_id in device_ids:
                response = await http.post(
                    f"{url}/_sim/devices", json={"device_id": device_id, "join_delay": join_delay}
                )
                response.raise_for_status()
        yield url
    finally:
        await stop_process(process)


@dataclass
class Workers:
    processes: dict[str, asyncio.subprocess.Process]
    """`central` (the one with workflows, and the SDK metrics), maybe `edge`."""
    metrics_url: str
    """The central worker's SDK metrics."""


def devprov_worker_commands(site: str) -> dict[str, list[str]]:
    """devprov's central worker and one edge gateway of `site`, by their entry points."""
    return {"central": ["worker.central"], "edge": ["worker.edge", "--site", site, "--host", "gw1"]}


@contextlib.asynccontextmanager
async def worker_processes(
    temporal_address: str,
    data_dir: Path,
    simulator_url: str,
    name: str,
    commands: dict[str, list[str]],
) -> AsyncIterator[Workers]:
    """Worker processes (`python -m <command>`) on the bench's server, key ring and HTTP
    device simulator, each started once it polls, all stopped on exit; `central` serves
    the SDK metrics."""
    metrics_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVPROV_")}
    env |= {
        "DEVPROV_TEMPORAL_ADDRESS": temporal_address,
        "DEVPROV_DATA_DIR": str(data_dir),
        "DEVPROV_HTTP_DEVICE_ADDRESS_TEMPLATE": f"{simulator_url}/devices/{{device_id}}",
        "DEVPROV_EDGE_CAPABILITIES": "http-wifi",
        "DEVPROV_AUDIT_LOG": str(data_dir / f"audit-{name}.jsonl"),
        "DEVPROV_WORKER_GRACEFUL_SHUTDOWN": "2",
    }
    processes: dict[str, asyncio.subprocess.Process] = {}
    try:
        for role, argv in commands.items():
            extra = {"DEVPROV_SDK_METRICS_PORT": str(metrics_port)} if role == "central" else {}
            log = data_dir / f"{name}-{role}.log"
            processes[role] = await spawn_module(argv, log, env | extra)
            await wait_for_log_line("polling", processes[role], log)
        yield Workers(processes, f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        for process in processes.values():
            await stop_process(process)
