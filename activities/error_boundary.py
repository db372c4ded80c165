"""Where adapter errors become Temporal `ApplicationError`s whose type is the error code."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from adapters.errors import AdapterError

logger = logging.getLogger("devprov.activities")


def to_application_error(error: AdapterError) -> ApplicationError:
    """Translate an adapter error: its code becomes the type, its retryability is kept."""
    return ApplicationError(
        error.message,
        dict(error.details),
        type=error.code.value,
        non_retryable=not error.retryable,
        next_retry_delay=(
            timedelta(seconds=error.retry_after) if error.retry_after is not None else None
        ),
    )


class _AdapterErrorInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except AdapterError as error:
            info = activity.info()
            logger.warning(
                "activity %s (attempt %d) of %s failed: %r",
                info.activity_type,
                info.attempt,
                info.workflow_id,
                error,
            )
            raise to_application_error(error) from error
        except ApplicationError:
            raise
        except Exception:
            info = activity.info()
            logger.exception(
                "activity %s (attempt %d) of %s failed unexpectedly",
                info.activity_type,
                info.attempt,
                info.workflow_id,
            )
            raise


class AdapterErrorInterceptor(Interceptor):
    """Worker interceptor that applies `to_application_error` to every activity."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _AdapterErrorInbound(next)
