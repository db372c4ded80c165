"""Typed keys of the state the application holds."""

from __future__ import annotations

from aiohttp import web

from api.dependencies import ApiDependencies
from api.metrics import ApiMetrics
from api.runs import ProvisioningRuns
from api.streams import ProgressHub

DEPENDENCIES = web.AppKey("dependencies", ApiDependencies)
RUNS = web.AppKey("runs", ProvisioningRuns)
HUB = web.AppKey("progress_hub", ProgressHub)
METRICS = web.AppKey("metrics", ApiMetrics)
