"""The edge gateway's systemd unit is `Type=notify` with a watchdog: the worker must say
READY, keep pinging the watchdog from its event loop, and say STOPPING."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from worker.systemd_notify import SystemdNotifier, systemd_service


def _listener(tmp_path: Path) -> tuple[socket.socket, str]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    return sock, path


def _received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(256).decode())
        except BlockingIOError:
            return messages


async def test_service_says_ready_pings_the_watchdog_and_says_stopping(tmp_path: Path) -> None:
    sock, path = _listener(tmp_path)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})

    with sock:
        async with systemd_service(notifier):
            # The 10 ms pings' timers fall due before this one: the loop runs them first.
            await asyncio.sleep(0.05)
        messages = _received(sock)

    assert messages[0] == "READY=1"
    assert messages.count("WATCHDOG=1") >= 2
    assert messages[-1] == "STOPPING=1"


async def test_without_a_notify_socket_nothing_is_sent(tmp_path: Path) -> None:
    notifier = SystemdNotifier({})

    async with systemd_service(notifier):
        pass

    assert notifier.enabled is False
    assert notifier.watchdog_interval is None


def test_watchdog_pings_at_half_the_units_interval() -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": "@devprov", "WATCHDOG_USEC": "30000000"})

    assert notifier.watchdog_interval == 15.0
    assert notifier.enabled
