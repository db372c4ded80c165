"""Prometheus metrics of one API application (its own registry, no global state)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from temporalio.client import Client

from api.streams import ProgressHub
from domain.states import VisibleState
from services.run_listing import state_clause

OPEN_STATES = [state for state in VisibleState if not state.is_terminal]

UNMATCHED_ROUTE = "unmatched"


def route_label(request: web.Request) -> str:
    """The route template that served `request` (bounded cardinality)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


class ApiMetrics:
    """The API's metrics, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "devprov_api_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "devprov_api_request_duration_seconds",
            "Time to produce a response (streams: until they end), by route template.",
            ["route"],
            registry=self.registry,
        )
        self.runs_started = Counter(
            "devprov_api_runs_started",
            "Provisioning runs started through the API (retries included), by strategy.",
            ["strategy"],
            registry=self.registry,
        )
        self.decommissions_started = Counter(
            "devprov_api_decommissions_started",
            "Decommissioning runs started through the API, by strategy.",
            ["strategy"],
            registry=self.registry,
        )
        self.progress_pollers = Gauge(
            "devprov_api_progress_pollers",
            "Runs whose progress is being polled for stream subscribers.",
            registry=self.registry,
        )

        self.stream_subscribers = Gauge(
            "devprov_api_stream_subscribers",
            "Clients following runs or fleets over SSE or WebSocket.",
            registry=self.registry,
        )
        self.progress_polls = Gauge(
            "devprov_api_progress_queries",
            "Progress queries made by the pollers since the API started (a counter).",
            registry=self.registry,
        )
        self.runs_open = Gauge(
            "devprov_runs_open",
            "Provisioning runs not finished, by state as visibility records it: "
            "IN_PROGRESS (moving on its own), PENDING_NETWORK and WAITING_FOR_DEVICE "
            "(waiting on a person), ROLLING_BACK.",
            ["state"],
            registry=self.registry,
        )

    def watch_hubs(self, *hubs: ProgressHub[Any]) -> None:
        """Read pollers, subscribers and queries from the hubs at every scrape."""
        self.progress_pollers.set_function(lambda: float(sum(h.active_pollers for h in hubs)))
        self.stream_subscribers.set_function(lambda: float(sum(h.subscribers for h in hubs)))
        self.progress_polls.set_function(lambda: float(sum(h.polls for h in hubs)))

    async def count_open_runs(self, client: Client) -> None:
        """Refresh `devprov_runs_open` from Temporal's visibility store."""
        for state in OPEN_STATES:
            result = await client.count_workflows(
                f'ExecutionStatus="Running" AND {state_clause(state)}'
            )
            self.runs_open.labels(state.value).set(result.count)

    def middleware(self) -> Middleware:
        """Middleware counting every request; place it outside the problem middleware."""

        @web.middleware
        async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as error:
                status = error.status
                raise
            finally:
                route = route_label(request)
                self.requests.labels(request.method, route, str(status)).inc()
                self.request_seconds.labels(route).observe(time.perf_counter() - started)

        return count_requests
