"""The simulator's aiohttp application: device RPC routes plus the `/_sim` control API."""

from __future__ import annotations

from aiohttp import web

from simulators.http_wifi import control_http, rpc_http
from simulators.http_wifi.app_keys import FLEET_KEY
from simulators.http_wifi.fleet import WifiDeviceFleet


def create_simulator_app(fleet: WifiDeviceFleet) -> web.Application:
    """An application serving every device of `fleet` and the control API."""
    app = web.Application()
    app[FLEET_KEY] = fleet
    app.add_routes(rpc_http.routes)
    app.add_routes(control_http.routes)
    return app
