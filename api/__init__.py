"""The HTTP API: a thin aiohttp layer over the Temporal client.

It validates requests, selects a strategy, starts, queries, updates and cancels runs,
and streams their progress (SSE, WebSocket). Every error is `application/problem+json`
with a stable `code` from `domain.errors.ErrorCode`.
"""

from api.app import ApiDependencies, ApiServer, create_app, start_api

__all__ = ["ApiDependencies", "ApiServer", "create_app", "start_api"]
