"""The webhook outbox's activities: read the due events, try one delivery, publish an
event no outcome carries, and wake the delivery workflows of the subscribers.

Hosted by the central workers (they need the database). A try's result is data, never
an activity failure: the backoff and the dead letter are written to the outbox by
`deliver`, so Temporal retries only what failed on our side (the database). The
secret is opened here, for the signature, and goes nowhere else: not into arguments,
results, logs or errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

import httpx
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy

from adapters.webhooks import WebhookSender, webhook_policy
from config.settings import WebhookSettings
from connection.secret_box import SecretBox
from domain.webhooks import (
    WEBHOOK_DELIVERY_WORKFLOW,
    WEBHOOK_KICK_SIGNAL,
    DeliveryOrder,
    DeliveryOutcome,
    DeliveryStatus,
    DueEvents,
    DueEventsRequest,
    WebhookDeliveryRun,
    WebhookEvent,
    WebhookEventBatch,
    delivery_workflow_id,
)
from registry import DeviceRegistry
from registry.webhooks import WebhookStore
from strategies.device_records import WebhookActivity

logger = logging.getLogger("devprov.activities.webhooks")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


RegistryOpener = Callable[[], Awaitable[DeviceRegistry]]
DeliveryObserver = Callable[[DeliveryStatus, str], None]
"""Told each try's result and the event type (metrics)."""


async def wake_deliveries(subscription_ids: Iterable[str], settings: WebhookSettings) -> None:
    """Signal each subscription's delivery workflow (starting it if it is not running),
    from inside an activity: it looks at its outbox now rather than at its next poll."""
    ids = list(subscription_ids)
    if not ids:
        return
    client = activity.client()
    task_queue = activity.info().task_queue
    for subscription_id in ids:
        await client.start_workflow(
            WEBHOOK_DELIVERY_WORKFLOW,
            WebhookDeliveryRun(subscription_id=subscription_id, poll_seconds=settings.poll_seconds),
            id=delivery_workflow_id(subscription_id),
            task_queue=task_queue,
            start_signal=WEBHOOK_KICK_SIGNAL,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"webhook deliveries of {subscription_id}",
        )


class WebhookActivities:
    """Delivery of the outbox's events.

    Args:
        registry: Opens the registry (the one the outcome activities write).
        secrets: Opens the subscriptions' sealed secrets (None: payloads are not
            encrypted, so no subscription could be created).
        settings: Backoff, maximum age, timeout, target policy.
        sender: Sends one try (default: httpx under the webhook outbound policy).
        observe: Told each try's result (metrics).
    """

    def __init__(
        self,
        registry: RegistryOpener,
        secrets: SecretBox | None,
        settings: WebhookSettings,
        *,
        sender: WebhookSender | None = None,
        observe: DeliveryObserver | None = None,
    ) -> None:
        self._registry = registry
        self._secrets = secrets
        self._settings = settings
        self._sender = sender
        self._observe = observe
        self._lock = asyncio.Lock()

    async def _store(self) -> WebhookStore:
        return WebhookStore((await self._registry()).database)

    async def _webhook_sender(self) -> WebhookSender:
        async with self._lock:
            if self._sender is None:
                policy = webhook_policy(allow_private=self._settings.allow_private)
                client: httpx.AsyncClient = policy.client()
                self._sender = WebhookSender(client, timeout=self._settings.timeout_seconds)
            return self._sender

    def retry_after(self, attempts_before: int) -> timedelta:
        """Wait after a failed try, given the tries before it: doubling from the first."""
        settings = self._settings
        seconds = settings.first_retry_seconds * 2 ** min(attempts_before, 30)
        return timedelta(seconds=min(seconds, settings.max_retry_seconds))

    @activity.defn(name=WebhookActivity.TAKE_DUE.name)
    async def take_due(self, request: DueEventsRequest) -> DueEvents:
        """The due head of each lane (at most `lanes_at_once`)."""
        limit = min(request.limit, self._settings.lanes_at_once)
        return await (await self._store()).due(request.subscription_id, limit)

    @activity.defn(name=WebhookActivity.DELIVER.name)
    async def deliver(self, order: DeliveryOrder) -> DeliveryOutcome:
        """One try of one pending event; its result goes to the outbox."""
        store = await self._store()
        row = await store.pending(order.subscription_id, order.event_id)
        if row is None:
            return DeliveryOutcome()
        if self._secrets is None:
            raise RuntimeError("webhook secrets cannot be opened: payload encryption is off")
        now = datetime.now(UTC)
        secret = self._secrets.open(row["sealed_secret"])
        previous = []
        expires = row["previous_secret_expires_at"]
        if row["previous_sealed_secret"] and expires is not None and _aware(expires) > now:
            previous.append(self._secrets.open(row["previous_sealed_secret"]))
        sender = await self._webhook_sender()
        result = await sender.send(
            row["url"], secret, order.event_id, now, row["payload"], previous_secrets=previous
        )
        recorded = await store.record_try(
            order.subscription_id,
            order.event_id,
            delivered=result.delivered,
            status_code=result.status_code,
            error=result.error,
            retry_after=self.retry_after(row["attempts"]),
            max_age=timedelta(seconds=self._settings.max_age_seconds),
        )
        if recorded is None:
            return DeliveryOutcome()
        if self._observe is not None:
            self._observe(recorded.status, recorded.type.value)
        log = logger.warning if recorded.status is DeliveryStatus.DEAD else logger.info
        log(
            "webhook %s (%s) to %s: %s after %d tries%s",
            order.event_id,
            recorded.type.value,
            order.subscription_id,
            recorded.status.value,
            recorded.attempts,
            f" ({result.error})" if result.error else "",
        )
        return DeliveryOutcome(
            status=recorded.status, status_code=result.status_code, attempts=recorded.attempts
        )

    @activity.defn(name=WebhookActivity.PUBLISH.name)
    async def publish(self, event: WebhookEvent) -> None:
        """Write an event no outcome record carries (a fleet's end) and wake its
        subscribers' deliveries."""
        subscribers = await (await self._store()).publish(event)
        await wake_deliveries(subscribers, self._settings)

    @activity.defn(name=WebhookActivity.PUBLISH_BATCH.name)
    async def publish_batch(self, batch: WebhookEventBatch) -> None:
        """Write a run's events (its state changes) in their order, in one transaction,
        and wake their subscribers' deliveries."""
        subscribers = await (await self._store()).publish_all(batch.events)
        await wake_deliveries(subscribers, self._settings)

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender.close()

    def all(self) -> list[object]:
        return [self.take_due, self.deliver, self.publish, self.publish_batch]
