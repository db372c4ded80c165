"""Turning configured step policies into Temporal activity options."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy

from domain.policies import StepPolicy


class ActivityOptions(TypedDict):
    """Keyword arguments of `workflow.execute_activity` derived from a `StepPolicy`."""

    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    retry_policy: RetryPolicy


def activity_options(policy: StepPolicy) -> ActivityOptions:
    """Options of one step's activities."""
    retry = policy.retry
    return ActivityOptions(
        start_to_close_timeout=policy.start_to_close,
        schedule_to_close_timeout=policy.schedule_to_close,
        heartbeat_timeout=policy.heartbeat,
        retry_policy=RetryPolicy(
            initial_interval=retry.initial_interval,
            backoff_coefficient=retry.backoff_coefficient,
            maximum_interval=retry.maximum_interval,
            maximum_attempts=retry.maximum_attempts,
            non_retryable_error_types=list(retry.non_retryable_error_types) or None,
        ),
    )
