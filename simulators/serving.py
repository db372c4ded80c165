"""Serving a small aiohttp application (a simulator, the codec server) on a TCP port."""

from __future__ import annotations

from aiohttp import web


async def serve_app(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 0.5
) -> tuple[web.AppRunner, str]:
    """Serve `app` on `host:port` (0: any free port); return its runner and base URL."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
    except BaseException:
        await runner.cleanup()
        raise
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return runner, f"http://{url_host}:{bound_port}"
