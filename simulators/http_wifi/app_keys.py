"""Typed keys of the simulator's aiohttp application state."""

from __future__ import annotations

from aiohttp import web

from simulators.http_wifi.fleet import WifiDeviceFleet

FLEET_KEY = web.AppKey("devprov_http_wifi_fleet", WifiDeviceFleet)
"""The simulated devices and networks the application serves."""
