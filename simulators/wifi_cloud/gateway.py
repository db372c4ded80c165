"""The cloud's front door: quotas, request faults, rate meters and request counters."""

from __future__ import annotations

import random
from collections import Counter

from simulators.wifi_cloud.config import CloudFaults, CountedFault, Endpoint, QuotaConfig
from simulators.wifi_cloud.quota import RateMeter, SlidingWindowQuota


class _ClientTraffic:
    def __init__(self, limit: int | None) -> None:
        self.quota = SlidingWindowQuota(limit) if limit is not None else None
        self.offered = RateMeter()
        self.admitted = RateMeter()
        self.throttled = 0


class RequestGateway:
    """Admits requests under the quotas, decides which faults hit them, counts them.

    Nothing here does I/O; `now` is seconds on a monotonic clock.
    """

    def __init__(self, quota: QuotaConfig, faults: CloudFaults, *, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self.faults = faults
        self.quota = quota
        self.reset()

    def reset(self) -> None:
        """Zero the counters, meters and quotas (the configured limits stay)."""
        self._global = _ClientTraffic(self.quota.global_per_second)
        self._clients: dict[str, _ClientTraffic] = {}
        self.requests: Counter[tuple[str, int]] = Counter()
        self.faults_injected: Counter[str] = Counter()

    def set_quota(self, quota: QuotaConfig) -> None:
        """New limits, from now on; meters keep their peaks."""
        self.quota = quota
        self._global.quota = (
            SlidingWindowQuota(quota.global_per_second) if quota.global_per_second else None
        )
        for traffic in self._clients.values():
            traffic.quota = (
                SlidingWindowQuota(quota.client_per_second) if quota.client_per_second else None
            )

    def _client(self, client: str) -> _ClientTraffic:
        traffic = self._clients.get(client)
        if traffic is None:
            traffic = self._clients[client] = _ClientTraffic(self.quota.client_per_second)
        return traffic

    def admit(self, client: str, now: float) -> float:
        """Admit one request of `client` at `now`: 0.0, else seconds until it could be.

        A request is admitted only when both the global and the client's quota allow it,
        and then counts against both.
        """
        mine = self._client(client)
        self._global.offered.record(now)
        mine.offered.record(now)
        quotas = [q for q in (self._global.quota, mine.quota) if q is not None]
        wait = max((q.wait_time(now) for q in quotas), default=0.0)
        if wait > 0:
            self._global.throttled += 1
            mine.throttled += 1
            return wait
        for quota in quotas:
            quota.admit(now)
        self._global.admitted.record(now)
        mine.admitted.record(now)
        return 0.0

    def take_fault(self, name: CountedFault, endpoint: Endpoint) -> bool:
        """Use up one count of the fault `name` if it applies to `endpoint`."""
        if not self.faults.applies_to(endpoint):
            return False
        left: int = getattr(self.faults, name)
        if left <= 0:
            return False
        self.faults = self.faults.model_copy(update={name: left - 1})
        self.faults_injected[name] += 1
        return True

    def random_server_error(self, endpoint: Endpoint) -> bool:
        """Whether `server_error_rate` picks this request to fail."""
        rate = self.faults.server_error_rate
        if rate <= 0 or not self.faults.applies_to(endpoint):
            return False
        if self._random.random() < rate:
            self.faults_injected["server_error_rate"] += 1
            return True
        return False

    def latency_for(self, endpoint: Endpoint) -> float:
        """Seconds to hold a request to `endpoint` before handling it."""
        return self.faults.latency if self.faults.applies_to(endpoint) else 0.0

    def count(self, endpoint: str, status: int) -> None:
        """Count one answer (or dropped connection, status 444) of `endpoint`."""
        self.requests[(endpoint, status)] += 1

    def snapshot(self) -> dict[str, object]:
        """Counters, quotas and peak rates."""
        by_endpoint: dict[str, dict[str, int]] = {}
        for (endpoint, status), count in sorted(self.requests.items()):
            by_endpoint.setdefault(endpoint, {})[str(status)] = count
        return {
            "requests": by_endpoint,
            "faults_injected": dict(sorted(self.faults_injected.items())),
            "quota": {
                "global_per_second": self.quota.global_per_second,
                "client_per_second": self.quota.client_per_second,
                "window_seconds": 1.0,
                "offered_total": self._global.offered.total,
                "admitted_total": self._global.admitted.total,
                "throttled_total": self._global.throttled,
                "peak_offered_per_second": self._global.offered.peak,
                "peak_admitted_per_second": self._global.admitted.peak,
                "clients": {
                    name: {
                        "offered_total": t.offered.total,
                        "admitted_total": t.admitted.total,
                        "throttled_total": t.throttled,
                        "peak_offered_per_second": t.offered.peak,
                        "peak_admitted_per_second": t.admitted.peak,
                    }
                    for name, t in sorted(self._clients.items())
                },
            },
        }
