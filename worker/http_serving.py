"""Serving a small aiohttp application on a TCP port."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on `host:port` and return its runner (`cleanup()` stops it)."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
