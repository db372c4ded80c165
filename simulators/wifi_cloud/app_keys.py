"""Typed keys of the simulated cloud's aiohttp application state."""

from __future__ import annotations

from aiohttp import web

from simulators.wifi_cloud.cloud import SimulatedCloud

CLOUD_KEY = web.AppKey("devprov_vendor_cloud", SimulatedCloud)
"""The simulated cloud the application serves."""
