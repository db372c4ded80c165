"""Building the central and edge workers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.device_registry import DeviceRegistryActivities
from activities.error_boundary import AdapterErrorInterceptor
from activities.pre_provisioning_hook import PreProvisioningHookActivities
from activities.webhooks import WebhookActivities
from config.settings import WebhookSettings
from connection.secret_box import secret_box_of
from domain.run import CENTRAL_TASK_QUEUE, edge_task_queue
from registry import DeviceRegistry
from worker.observability import ObservabilityInterceptor, WorkerMetrics, process_worker_metrics
from workflows.catalog import all_workflows

GRACEFUL_SHUTDOWN = timedelta(seconds=10)

# The sandbox re-imports a workflow's modules for every run: measured by bench/pipeline.py
# at ~7 ms of CPU per run start, the largest cost of a start on the embedded stack. Our
# workflow, strategy, domain and config modules are pure (no I/O at import, no mutable
# module-level state a run could change), so they are imported once per process.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "workflows", "strategies", "domain", "config", "pydantic", "pydantic_core"
    )
)


def _interceptors(metrics: WorkerMetrics | None) -> list[Interceptor]:
    # The observer goes first (outermost) so that it sees the error codes the
    # boundary gives adapter errors.
    return [
        ObservabilityInterceptor(metrics or process_worker_metrics()),
        AdapterErrorInterceptor(),
    ]


def central_worker(
    client: Client,
    *,
    task_queue: str = CENTRAL_TASK_QUEUE,
    activities: Sequence[object] = (),
    workflows: Sequence[type] | None = None,
    registry: DeviceRegistry | None = None,
    graceful_shutdown_timeout: timedelta = GRACEFUL_SHUTDOWN,
    metrics: WorkerMetrics | None = None,
    webhooks: WebhookSettings | None = None,
) -> Worker:
    """The worker that runs every strategy workflow and the central activities
    (vendor-cloud calls: see `worker.central.central_activities`); `workflows`
    defaults to those of the installed families, the fleet's and webhook delivery.

    It always hosts the device registry's claim and outcome activities, the webhook
    outbox's and the pre-provisioning hook's, over `registry` — or, when None (tests,
    benchmarks), over a throwaway registry of its own that no API reads. Webhook and
    hook secrets open with the key ring of `client`'s payload codec.
    """
    webhook_settings = webhooks or WebhookSettings.from_env()
    observed = metrics or process_worker_metrics()
    records = DeviceRegistryActivities(registry, webhook_settings)
    secrets = secret_box_of(client.data_converter)
    deliveries = WebhookActivities(
        records.store, secrets, webhook_settings, observe=observed.observe_webhook_delivery
    )
    hooks = PreProvisioningHookActivities(records.store, secrets, webhook_settings)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=all_workflows() if workflows is None else list(workflows),
        workflow_runner=WORKFLOW_RUNNER,
        activities=[*activities, *records.all(), *deliveries.all(), *hooks.all()],  # type: ignore[list-item]
        interceptors=_interceptors(observed),
        graceful_shutdown_timeout=graceful_shutdown_timeout,
    )


def edge_worker(
    client: Client,
    *,
    activities: Sequence[object],
    site: str | None = None,
    task_queue: str | None = None,
    max_concurrent_activities: int = 50,
    graceful_shutdown_timeout: timedelta = GRACEFUL_SHUTDOWN,
    metrics: WorkerMetrics | None = None,
) -> Worker:
    """A worker near the devices, serving `task_queue` (default: `edge.<site>`)."""
    if task_queue is None:
        if site is None:
            raise ValueError("edge_worker needs a site or a task queue")
        task_queue = edge_task_queue(site)
    return Worker(
        client,
        task_queue=task_queue,
        activities=list(activities),  # type: ignore[arg-type]
        interceptors=_interceptors(metrics),
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
    )
