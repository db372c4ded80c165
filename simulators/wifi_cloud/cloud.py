"""The simulated vendor cloud as one object: what it holds, its front door, its faults."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from datetime import datetime

from simulators.wifi_cloud.config import CloudConfig, CloudFaults, QuotaConfig
from simulators.wifi_cloud.gateway import RequestGateway
from simulators.wifi_cloud.idempotency import IdempotencyStore
from simulators.wifi_cloud.registry import CloudRegistry, utc_now


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class SimulatedCloud:
    """A vendor cloud in memory, served over HTTP by `create_cloud_app`.

    Tests hold this object: they read `registry`, set `faults` and the quota, or go
    through the `/_sim/cloud` control API, which does the same.

    Args:
        config: What the cloud accepts, its quotas and initial faults.
        clock: Monotonic seconds; defaults to the running event loop's clock.
        wall_clock: Aware UTC datetimes shown by the API.
    """

    def __init__(
        self,
        config: CloudConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config or CloudConfig()
        self._clock = clock or _loop_time
        self.registry = CloudRegistry(self.config, clock=self._clock, wall_clock=wall_clock)
        self.gateway = RequestGateway(self.config.quota, self.config.faults, seed=self.config.seed)
        self.idempotency = IdempotencyStore(self.config.idempotency_ttl)
        self.registry.silent_devices = self.config.faults.silent_devices

    def now(self) -> float:
        """The monotonic clock quotas and expiries run on."""
        return self._clock()

    @property
    def faults(self) -> CloudFaults:
        return self.gateway.faults

    @faults.setter
    def faults(self, faults: CloudFaults) -> None:
        self.gateway.faults = faults
        self.registry.silent_devices = faults.silent_devices

    @property
    def quota(self) -> QuotaConfig:
        return self.gateway.quota

    @quota.setter
    def quota(self, quota: QuotaConfig) -> None:
        self.gateway.set_quota(quota)

    def client_of(self, api_key: str) -> str | None:
        """The client an API key belongs to, compared in constant time; None if unknown."""
        found: str | None = None
        for known, client in self.config.api_keys.items():
            if hmac.compare_digest(api_key.encode(), known.encode()):
                found = client
        return found

    def reset(self) -> None:
        """Empty the cloud: no device, credential, key, counter or fault; the config stays."""
        self.registry.reset()
        self.idempotency.clear()
        self.gateway.quota = self.config.quota
        self.gateway.reset()
        self.faults = CloudFaults()

    def snapshot(self) -> dict[str, object]:
        """What `/_sim/cloud/state` shows; never a token, key or certificate."""
        return {
            **self.registry.snapshot(),
            **self.gateway.snapshot(),
            "idempotency": {
                "keys_stored": len(self.idempotency),
                "replays": self.idempotency.replays,
                "mismatches": self.idempotency.mismatches,
            },
            "faults": self.faults.model_dump(mode="json"),
            "auto_checkin_delay": self.config.auto_checkin_delay,
        }
