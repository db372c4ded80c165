"""The web console: static pages under `/console` that speak the public API.

The pages hold no secret and need no key to load; the console asks the person for an
API key and sends it with every API call (its event streams get a stream ticket instead).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from api.keys import DEPENDENCIES
from api.responses import model_response
from domain.api_models import ConsoleConfig

CONSOLE_PREFIX = "/console"
CONSOLE_FILES = Path(__file__).parent / "static" / "console"


async def console_page(request: web.Request) -> web.StreamResponse:
    """`GET /console`: the console's single page."""
    return web.FileResponse(CONSOLE_FILES / "index.html", headers={"Cache-Control": "no-cache"})


async def console_config(request: web.Request) -> web.Response:
    """`GET /console/config.json`: where the Temporal Web UI is, whether keys are needed."""
    deps = request.app[DEPENDENCIES]
    return model_response(
        ConsoleConfig(
            temporal_ui_url=deps.settings.temporal.ui_url,
            namespace=deps.settings.temporal.namespace,
            auth_required=deps.auth is not None,
        )
    )


def add_console_routes(app: web.Application) -> None:
    """Serve the console page, its configuration and its assets."""
    app.router.add_get(CONSOLE_PREFIX, console_page, allow_head=False)
    app.router.add_get(f"{CONSOLE_PREFIX}/config.json", console_config, allow_head=False)
    app.router.add_static(f"{CONSOLE_PREFIX}/assets", CONSOLE_FILES, append_version=False)
