"""The registry's activities: a run claims its device first and records its outcome last.

Hosted by the central workers (they need the database, not the device). Both are
idempotent per device and run: the store answers the same claim with the same record
and records an outcome once, so an activity retried after a crash changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.webhooks import wake_deliveries
from config.settings import WebhookSettings
from domain.errors import ErrorCode
from domain.registry import DeviceBusy, DeviceClaim, DeviceNotFound, DeviceRecord, RunOutcome
from registry import DeviceRegistry, open_registry
from strategies.device_records import DeviceRecordActivity

logger = logging.getLogger("devprov.activities.registry")


class ThrowawayRegistry:
    """A registry of a worker's own in a temporary SQLite file, opened on first use.

    For workers built without one (tests, benchmarks): its records go when the process
    ends. `python -m worker.central` and `make run` always pass the configured one.
    """

    def __init__(self) -> None:
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._registry: DeviceRegistry | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> DeviceRegistry:
        async with self._lock:
            if self._registry is None:
                self._directory = tempfile.TemporaryDirectory(prefix="devprov-registry-")
                path = Path(self._directory.name) / "registry.db"
                self._registry = await open_registry(f"sqlite+aiosqlite:///{path}", pooled=False)
            return self._registry


class DeviceRegistryActivities:
    """Claim and outcome of every run, whatever its family.

    Args:
        registry: The registry (None: a throwaway one of this worker's own).
        webhooks: Webhook settings (how delivery workflows woken by an outcome poll).
    """

    def __init__(
        self, registry: DeviceRegistry | None = None, webhooks: WebhookSettings | None = None
    ) -> None:
        self._registry = registry
        self._throwaway = ThrowawayRegistry() if registry is None else None
        self._webhooks = webhooks or WebhookSettings.defaults()

    async def store(self) -> DeviceRegistry:
        """The registry these activities write (opened on first use when throwaway)."""
        return await self._store()

    async def _store(self) -> DeviceRegistry:
        if self._registry is not None:
            return self._registry
        assert self._throwaway is not None
        return await self._throwaway()

    @activity.defn(name=DeviceRecordActivity.CLAIM.name)
    async def claim(self, claim: DeviceClaim) -> DeviceRecord:
        """Make the run the device's owner, or fail with DEVICE_BUSY (not retried).

        Another tenant's device loses the same way, without saying whose it is.
        """
        store = await self._store()
        try:
            return await store.claim(claim)
        except DeviceBusy as busy:
            record = busy.record
            raise ApplicationError(
                str(busy),
                {"state": record.state.value, "owner_workflow_id": record.workflow_id or ""},
                type=ErrorCode.DEVICE_BUSY.value,
                non_retryable=True,
            ) from None
        except DeviceNotFound:
            raise ApplicationError(
                f"device '{claim.device_id}' cannot be claimed by this tenant",
                {"state": "", "owner_workflow_id": ""},
                type=ErrorCode.DEVICE_BUSY.value,
                non_retryable=True,
            ) from None

    @activity.defn(name=DeviceRecordActivity.RECORD_OUTCOME.name)
    async def record_outcome(self, outcome: RunOutcome) -> None:
        """Record how the run left its device; nothing when the run does not own it
        (it lost its claim, or its claim never reached the registry). The run's webhook
        event is written with it, and its subscribers' deliveries are woken."""
        store = await self._store()
        recorded = await store.record_run_outcome(outcome)
        if recorded.record is None:
            logger.info(
                "device %s: no record, so run %s has no outcome to record",
                outcome.device_id,
                outcome.run_id,
            )
        await wake_deliveries(list(recorded.subscribers), self._webhooks)

    def all(self) -> list[object]:
        return [self.claim, self.record_outcome]
