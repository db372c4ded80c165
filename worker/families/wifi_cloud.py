"""Wiring of the `wifi-cloud` family: the vendor cloud's activities on the central workers
(its device steps are the `http-wifi` capability's); under `make run`, the simulated
vendor cloud."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from pydantic import SecretStr

from activities.wifi_cloud import WifiCloudActivities
from adapters.wifi_cloud import WifiCloudAdapter
from config.settings import Settings
from worker.families import EmbeddedSimulator, FamilyWiring


@contextlib.asynccontextmanager
async def wifi_cloud_activities(settings: Settings) -> AsyncIterator[list[object]]:
    """The central activities wired to the vendor cloud of `settings`; closes its client."""
    async with httpx.AsyncClient(trust_env=False) as http:
        cloud = WifiCloudAdapter(http, settings.cloud.base_url, SecretStr(settings.cloud.api_key))
        yield WifiCloudActivities(cloud, SecretStr(settings.cloud.claim_token)).all()


WIRING = FamilyWiring(
    central_activities=wifi_cloud_activities,
    simulator=EmbeddedSimulator(start="simulators.wifi_cloud.embedded:simulated_wifi_cloud"),
)
