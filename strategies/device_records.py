"""The registry steps every run takes: claim the device first, record the outcome last.

They are the same for every family, so they live here rather than in a family's
contracts; the central workers host them (they need the database, not the device).
"""

from __future__ import annotations

from datetime import timedelta

from domain.hooks import HookCall, HookVerdict
from domain.policies import RetrySpec, StepPolicy
from domain.registry import DeviceClaim, DeviceRecord, RunOutcome
from domain.webhooks import (
    DeliveryOrder,
    DeliveryOutcome,
    DueEvents,
    DueEventsRequest,
    WebhookEvent,
    WebhookEventBatch,
)
from strategies.activity_contract import ActivityContract


class DeviceRecordActivity:
    """The registry's activities: each one's name, argument and result."""

    CLAIM = ActivityContract("registry.claim", DeviceClaim, DeviceRecord)
    RECORD_OUTCOME = ActivityContract("registry.record_outcome", RunOutcome, type(None))


REGISTRY_STAGE = "registry"
"""The stage audit records and metrics name both registry steps with."""

REGISTRY_STEP_POLICY = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=RetrySpec(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=0,
    ),
)
"""Registry steps retry until the database answers: a run must not start on a device
it did not claim, and its outcome must reach the record. A lost claim is not retried
(its failure is non-retryable)."""


class WebhookActivity:
    """The webhook outbox's activities (central workers): their names, arguments, results."""

    TAKE_DUE = ActivityContract("webhooks.take_due", DueEventsRequest, DueEvents)
    DELIVER = ActivityContract("webhooks.deliver", DeliveryOrder, DeliveryOutcome)
    PUBLISH = ActivityContract("webhooks.publish", WebhookEvent, type(None))
    PUBLISH_BATCH = ActivityContract("webhooks.publish_batch", WebhookEventBatch, type(None))


WEBHOOK_STEP_POLICY = REGISTRY_STEP_POLICY
"""Outbox steps retry until the database answers, like the registry's."""

WEBHOOK_STAGE = "webhooks"
"""The stage the audit log and metrics name a run's outbox writes after."""


class HookActivity:
    """The pre-provisioning hook's activity (central workers)."""

    CALL = ActivityContract("hooks.pre_provisioning", HookCall, HookVerdict)


HOOK_STAGE = "pre-provisioning hook"
