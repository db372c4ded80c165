"""Operational endpoints outside `/api/v1`: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder

from api.keys import DEPENDENCIES, METRICS
from api.problems import ApiError
from domain.errors import ErrorCode

READINESS_TIMEOUT = timedelta(seconds=2)

logger = logging.getLogger("devprov.api")


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: Temporal answers a health check."""
    client = request.app[DEPENDENCIES].temporal
    try:
        serving = await client.service_client.check_health(timeout=READINESS_TIMEOUT)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        logger.warning("readiness check: Temporal did not answer: %s", error)
        serving = False
    if not serving:
        raise ApiError(503, ErrorCode.TEMPORAL_UNAVAILABLE, "Temporal does not answer")
    return web.json_response({"status": "ready", "temporal": "serving"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition (text or OpenMetrics, as the scraper asks)."""
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(request.app[METRICS].registry)
    if request.app[DEPENDENCIES].settings.metrics.serve_process_metrics:
        # Workers in the same process (the embedded stack) count their stages here.
        body += encoder(REGISTRY)
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response
