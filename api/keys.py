"""Typed keys of the state the application holds."""

from __future__ import annotations

from aiohttp import web

from api.dependencies import ApiDependencies
from api.metrics import ApiMetrics
from api.streams import ProgressHub
from domain.fleet import FleetSnapshot
from domain.progress import ProgressSnapshot
from services.decommissions import Decommissions
from services.devices import DeviceInventory
from services.enrollments import Enrollments
from services.fleets import FleetRuns
from services.hooks import PreProvisioningHooks
from services.runs import ProvisioningRuns
from services.webhooks import WebhookSubscriptions
from strategies.family import DeviceFamily

DEPENDENCIES = web.AppKey("dependencies", ApiDependencies)
RUNS = web.AppKey("runs", ProvisioningRuns)
HUB: web.AppKey[ProgressHub[ProgressSnapshot]] = web.AppKey("progress_hub")
FLEETS = web.AppKey("fleets", FleetRuns)
FLEET_HUB: web.AppKey[ProgressHub[FleetSnapshot]] = web.AppKey("fleet_hub")
METRICS = web.AppKey("metrics", ApiMetrics)
FAMILIES: web.AppKey[dict[str, DeviceFamily]] = web.AppKey("families")
"""The device families by name: their request schemas and examples."""
DEVICES = web.AppKey("devices", DeviceInventory)
DECOMMISSIONS = web.AppKey("decommissions", Decommissions)
ENROLLMENTS = web.AppKey("enrollments", Enrollments)
WEBHOOKS = web.AppKey("webhooks", WebhookSubscriptions)
HOOKS = web.AppKey("pre_provisioning_hooks", PreProvisioningHooks)
