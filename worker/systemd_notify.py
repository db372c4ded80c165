"""systemd's notify protocol for workers run as `Type=notify` services with a watchdog.

`READY=1` once the workers poll, `WATCHDOG=1` from the event loop at half the unit's
`WatchdogSec` (a blocked loop stops the pings and systemd restarts the service), and
`STOPPING=1` when shutting down. Without `$NOTIFY_SOCKET` (not under systemd) it does
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Mapping

from config.settings import SystemdSettings

logger = logging.getLogger("devprov.worker.systemd")


class SystemdNotifier:
    """Sends notify messages to `$NOTIFY_SOCKET`; a no-op when it is not set."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        systemd = SystemdSettings.from_env(environ)
        address = systemd.notify_socket
        # An abstract socket is written '@name' and addressed with a leading NUL byte.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = systemd.watchdog_usec
        self.watchdog_interval: float | None = usec / 2_000_000 if usec > 0 else None

    @property
    def enabled(self) -> bool:
        """Whether a service manager listens."""
        return bool(self._address)

    def notify(self, message: str) -> None:
        """Send one message, e.g. `READY=1`; errors are logged, never raised."""
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), self._address)
        except OSError as error:
            logger.warning("systemd notify %r failed: %s", message, error)


@contextlib.asynccontextmanager
async def systemd_service(notifier: SystemdNotifier | None = None) -> AsyncIterator[None]:
    """Tell systemd the service is ready, ping its watchdog while inside, then stopping."""
    notifier = notifier or SystemdNotifier()
    if not notifier.enabled:
        yield
        return
    notifier.notify("READY=1")
    pinger: asyncio.Task[None] | None = None
    if notifier.watchdog_interval:
        pinger = asyncio.create_task(_ping(notifier, notifier.watchdog_interval))
    try:
        yield
    finally:
        notifier.notify("STOPPING=1")
        if pinger is not None:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger


async def _ping(notifier: SystemdNotifier, interval: float) -> None:
    while True:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(interval)
