"""Building the central and edge workers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.error_boundary import AdapterErrorInterceptor
from activities.http_wifi import HttpWifiActivities
from adapters.ports import WifiSetupPort
from domain.run import CENTRAL_TASK_QUEUE, edge_task_queue
from workflows.catalog import ALL_WORKFLOWS

GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def central_worker(client: Client, *, task_queue: str = CENTRAL_TASK_QUEUE) -> Worker:
    """The worker that runs every strategy workflow (and central activities)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(ALL_WORKFLOWS),
        interceptors=[AdapterErrorInterceptor()],
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


def edge_activities(wifi_setup: WifiSetupPort) -> list[object]:
    """The activities an edge worker hosts, wired to its adapters."""
    return [*HttpWifiActivities(wifi_setup).all()]


def edge_worker(
    client: Client,
    *,
    site: str,
    activities: Sequence[object],
    max_concurrent_activities: int = 50,
) -> Worker:
    """A worker near the devices of `site`, serving task queue `edge.<site>`."""
    return Worker(
        client,
        task_queue=edge_task_queue(site),
        activities=list(activities),  # type: ignore[arg-type]
        interceptors=[AdapterErrorInterceptor()],
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )
