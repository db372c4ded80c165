"""Where adapter errors become Temporal `ApplicationError`s whose type is the error code.

Every failure an activity reports is also bounded here. Temporal 1.32 keeps a retrying
activity's last failure (what `describe` and the Web UI show for a pending activity, and
the cause of a later timeout) only while it stays under 4 KB
(`limit.mutableStateActivityFailureSize.error`); a larger one is replaced by a
"Failure exceeds size limit." server failure without its type, message or details. The
SDK encodes an exception with its whole cause chain and a stack trace at every level: a
dropped connection or a timeout of the vendor cloud (the adapter error, httpx's error and
httpcore's under it) came to 5.8-6.1 KB once encrypted. So the failure carries a clipped
message, bounded details and the innermost frames of the adapter's stack, never the chain
under it; the worker's log keeps the whole chain.
"""

from __future__ import annotations

import concurrent.futures
import logging
import types
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, TemporalError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from adapters.errors import MESSAGE_BYTES, AdapterError, clip

logger = logging.getLogger("devprov.activities")

DETAILS_BYTES = 600
"""The most a failure's details take, keys and values JSON-encoded."""
DETAIL_KEY_BYTES = 48
DETAIL_VALUE_BYTES = 200
MAX_DETAILS = 12
DETAILS_OMITTED = "details_omitted"
"""Detail saying how many details did not fit."""
STACK_FRAMES = 3
"""Innermost frames of the failing code kept in a failure's stack trace."""


def bounded_details(details: Mapping[str, str]) -> dict[str, str]:
    """`details` with keys and values clipped, in order while they fit in `DETAILS_BYTES`."""
    kept: dict[str, str] = {}
    used = omitted = 0
    for key, value in details.items():
        name, text = clip(str(key), DETAIL_KEY_BYTES), clip(str(value), DETAIL_VALUE_BYTES)
        cost = len(name.encode()) + len(text.encode())
        if len(kept) >= MAX_DETAILS or used + cost > DETAILS_BYTES:
            omitted += 1
            continue
        kept[name] = text
        used += cost
    if omitted:
        kept[DETAILS_OMITTED] = str(omitted)
    return kept


def _innermost(tb: types.TracebackType | None, frames: int) -> types.TracebackType | None:
    """A traceback of the last `frames` entries of `tb` (where the error was raised)."""
    entries: list[types.TracebackType] = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    trimmed: types.TracebackType | None = None
    for entry in reversed(entries[-frames:] if frames > 0 else []):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return trimmed


def to_application_error(error: AdapterError) -> ApplicationError:
    """Translate an adapter error: its code becomes the type, its retryability is kept.

    The result is bounded (see the module's docstring; `AdapterError` clips its own
    message): raise it `from None`.
    """
    failure = ApplicationError(
        error.message,
        bounded_details(error.details),
        type=str(error.code),
        non_retryable=not error.retryable,
        next_retry_delay=(
            timedelta(seconds=error.retry_after) if error.retry_after is not None else None
        ),
    )
    return failure.with_traceback(_innermost(error.__traceback__, STACK_FRAMES))


def unexpected_failure(error: Exception) -> ApplicationError:
    """What the SDK would report for a stray exception (its class name as the type,
    retryable), bounded like an adapter error's failure."""
    failure = ApplicationError(
        clip(str(error) or type(error).__name__, MESSAGE_BYTES), type=type(error).__name__
    )
    return failure.with_traceback(_innermost(error.__traceback__, STACK_FRAMES))


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
                exc_info=error,
            )
            raise to_application_error(error) from None
        except (TemporalError, concurrent.futures.BrokenExecutor):
            # The SDK's own signals (cancellation, ...) and failures built on purpose.
            raise
        except Exception as error:
            info = activity.info()
            logger.exception(
                "activity %s (attempt %d) of %s failed unexpectedly",
                info.activity_type,
                info.attempt,
                info.workflow_id,
            )
            raise unexpected_failure(error) from None


class AdapterErrorInterceptor(Interceptor):
    """Worker interceptor that applies `to_application_error` to every activity and
    bounds every failure an activity reports."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _AdapterErrorInbound(next)
