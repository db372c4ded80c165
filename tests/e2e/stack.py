"""`make run`'s stack in a child process, as the end-to-end tests meet it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.network import free_port

ROOT = Path(__file__).resolve().parents[2]
E2E_KEY = "dpk_e2e_Q7vX2mLp9tRb4KzW8nYc3HdF6sJa"
AUTH = {"Authorization": f"Bearer {E2E_KEY}"}
EXAMPLES = sorted((ROOT / "examples" / "requests").glob("*.json"))
DEVPROV = shutil.which("devprov") or "devprov"


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
        "DEVPROV_SIMULATOR_ESP_PORT",
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


async def devprov(stack: Stack, *args: str) -> tuple[int, str, str]:
    """Run the installer's CLI against the stack: exit code, stdout, stderr."""
    env = {**os.environ, "DEVPROV_API_URL": stack.api, "DEVPROV_API_KEY": E2E_KEY}
    process = await asyncio.create_subprocess_exec(
        DEVPROV,
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
