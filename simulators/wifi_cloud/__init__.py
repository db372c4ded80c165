"""A simulated vendor cloud for fleet provisioning by claim (AWS IoT / Azure DPS style).

See docs/vendor-cloud.md for the API, idempotency, the quota, the faults and the control API.
"""

from simulators.wifi_cloud.app import create_cloud_app
from simulators.wifi_cloud.app_keys import CLOUD_KEY
from simulators.wifi_cloud.cloud import SimulatedCloud
from simulators.wifi_cloud.config import (
    DEFAULT_POLICY,
    DEV_API_KEY,
    DEV_CLAIM_TOKEN,
    CloudConfig,
    CloudFaults,
    Endpoint,
    QuotaConfig,
)
from simulators.wifi_cloud.device_agent import checkin_body
from simulators.wifi_cloud.idempotency import IdempotencyKeyReused, IdempotencyStore
from simulators.wifi_cloud.quota import RateMeter, SlidingWindowQuota
from simulators.wifi_cloud.registry import CloudApiError, CloudRegistry
from simulators.wifi_cloud.server import RunningCloud, start_cloud_simulator

__all__ = [
    "CLOUD_KEY",
    "DEFAULT_POLICY",
    "DEV_API_KEY",
    "DEV_CLAIM_TOKEN",
    "CloudApiError",
    "CloudConfig",
    "CloudFaults",
    "CloudRegistry",
    "Endpoint",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "QuotaConfig",
    "RateMeter",
    "RunningCloud",
    "SimulatedCloud",
    "SlidingWindowQuota",
    "checkin_body",
    "create_cloud_app",
    "start_cloud_simulator",
]
