"""The simulated cloud's aiohttp application: the `/v1` API plus the `/_sim` control API."""

from __future__ import annotations

from aiohttp import web

from simulators.wifi_cloud import api_http, control_http
from simulators.wifi_cloud.app_keys import CLOUD_KEY
from simulators.wifi_cloud.cloud import SimulatedCloud


def create_cloud_app(cloud: SimulatedCloud) -> web.Application:
    """An application serving `cloud`."""
    app = web.Application(middlewares=[api_http.count_requests])
    app[CLOUD_KEY] = cloud
    app.add_routes(api_http.routes)
    app.add_routes(control_http.routes)
    return app
