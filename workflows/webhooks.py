"""Webhook delivery: one long-lived workflow per subscription drains its outbox.

The outbox (the registry's database) holds every event and how its delivery stands;
this workflow holds nothing of its own that a restart could lose. Each round it asks
for the due head of each lane (a device, a fleet) — one event per lane at a time, so a
device's events arrive in the order they were written — tries them at once, and waits
until the next retry is due, a new event is signalled, or the poll interval passes
(the poll covers a signal lost to a crash). Backoff and the maximum age are the
delivery activity's (it writes the next try and the dead letter); a try's result never
fails the activity, so Temporal retries only the database. After
`rounds_per_generation` rounds it continues as new, keeping its history short. A
disabled subscription's workflow ends (its events wait in the outbox); enabling it
starts the workflow again.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.webhooks import (
        WEBHOOK_DELIVERY_WORKFLOW,
        WEBHOOK_KICK_SIGNAL,
        DeliveryOrder,
        DeliveryOutcome,
        DueEvents,
        DueEventsRequest,
        WebhookDeliveryRun,
    )
    from strategies.device_records import WEBHOOK_STEP_POLICY, WebhookActivity
    from workflows.activity_options import activity_options

TRY_TIMEOUT = timedelta(minutes=2)
"""Longest one delivery try may take (the receiver's own timeout is shorter)."""


@workflow.defn(name=WEBHOOK_DELIVERY_WORKFLOW)
class WebhookDeliveryWorkflow:
    """Deliver a subscription's events, in order per lane, until it is deleted or
    disabled."""

    def __init__(self) -> None:
        self._signals = 0

    @workflow.signal(name=WEBHOOK_KICK_SIGNAL)
    def new_events(self) -> None:
        """Events were written: look at the outbox now."""
        self._signals += 1

    @workflow.run
    async def run(self, run: WebhookDeliveryRun) -> None:
        options = activity_options(WEBHOOK_STEP_POLICY)
        for _ in range(run.rounds_per_generation):
            seen = self._signals
            due: DueEvents = await workflow.execute_activity(
                WebhookActivity.TAKE_DUE.name,
                DueEventsRequest(subscription_id=run.subscription_id),
                result_type=DueEvents,
                summary="webhooks: due events",
                **options,
            )
            if not due.subscription_exists:
                return
            if not due.enabled:
                if self._signals == seen:
                    return  # disabled: enabling it starts this workflow again
                continue
            if due.event_ids:
                await asyncio.gather(
                    *(self._deliver(run.subscription_id, event_id) for event_id in due.event_ids)
                )
                continue
            wait = run.poll_seconds
            if due.next_due_in_seconds is not None:
                wait = min(wait, max(due.next_due_in_seconds, 0.05))
            await self._news_or_timeout(seen, wait)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(run)

    async def _news_or_timeout(self, signals_seen: int, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._signals != signals_seen, timeout=timedelta(seconds=seconds)
            )

    async def _deliver(self, subscription_id: str, event_id: str) -> DeliveryOutcome:
        options = activity_options(WEBHOOK_STEP_POLICY)
        options["start_to_close_timeout"] = TRY_TIMEOUT
        result: DeliveryOutcome = await workflow.execute_activity(
            WebhookActivity.DELIVER.name,
            DeliveryOrder(subscription_id=subscription_id, event_id=event_id),
            result_type=DeliveryOutcome,
            summary=f"webhooks: deliver {event_id}",
            **options,
        )
        return result
