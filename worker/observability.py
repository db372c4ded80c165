"""Audit records and metrics of every lifecycle stage, from Temporal interceptors.

No strategy can forget them: the workflow side tags each activity call with its stage
and run context (a header); the lifecycle hands every state change to its state
observers (see `StateRecorder`); the activity side writes a start
and an end record per stage attempt, with its duration, outcome and error code, and counts it.

Audit records are one JSON object per line on the `devprov.audit` logger, which log
shippers take as is. They never carry a secret: only ids, names, states and codes.
Workflow-side records are skipped while a worker replays history, so each is written
once; the Temporal history stays the durable, complete audit (see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from config.settings import Settings
from domain.run import ProvisionRun
from domain.webhooks import DeliveryStatus
from workflows.lifecycle import STAGE_ATTRIBUTE, observe_states

AUDIT_LOGGER = "devprov.audit"
AUDIT_HEADER = "devprov-audit"

audit_logger = logging.getLogger(AUDIT_LOGGER)
_JSON_PLAIN = {"encoding": b"json/plain"}


def write_audit(record: Mapping[str, Any]) -> None:
    """Write one audit record (a JSON line) with a UTC timestamp; nothing is built while
    the audit log is off (`devprov.audit` below INFO: a process whose logging
    `configure_logging` did not set up, such as a test's or a benchmark's)."""
    if not audit_logger.isEnabledFor(logging.INFO):
        return
    line = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **record}
    audit_logger.info(json.dumps(line, separators=(",", ":"), default=str))


def serve_worker_metrics(settings: Settings) -> None:
    """Serve this process's worker metrics on `$DEVPROV_WORKER_METRICS_PORT`, if set."""
    if settings.metrics.worker_port:
        start_http_server(settings.metrics.worker_port, addr=settings.metrics.host)


@functools.cache
def process_worker_metrics() -> WorkerMetrics:
    """The worker metrics of this process, in prometheus-client's default registry."""
    return WorkerMetrics()


class WorkerMetrics:
    """Prometheus metrics of the stages a worker runs (low-cardinality labels only)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.stage_seconds = Histogram(
            "devprov_stage_duration_seconds",
            "Duration of one attempt of a lifecycle stage, by strategy, stage and outcome.",
            ["strategy", "stage", "outcome"],
            registry=registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.stage_attempts = Counter(
            "devprov_stage_attempts",
            "Attempts of lifecycle stages, by strategy, stage, outcome and error code.",
            ["strategy", "stage", "outcome", "error_code"],
            registry=registry,
        )
        self.transitions = Counter(
            "devprov_state_transitions",
            "State changes of provisioning runs, by strategy and state entered.",
            ["strategy", "state"],
            registry=registry,
        )
        self.runs_finished = Counter(
            "devprov_runs_finished",
            "Provisioning runs that reached a terminal state, by strategy and state.",
            ["strategy", "state", "error_code"],
            registry=registry,
        )
        self._stage_children: dict[tuple[str, str, str, str], tuple[Histogram, Counter]] = {}
        self.webhook_tries = Counter(
            "devprov_webhook_deliveries",
            "Webhook delivery tries by result (delivered, pending: failed and retried "
            "later, dead: failed past the maximum age) and event type.",
            ["result", "event_type"],
            registry=registry,
        )
        self.webhook_dead_letters = Counter(
            "devprov_webhook_dead_letters",
            "Webhook events that went to the dead letter, by event type.",
            ["event_type"],
            registry=registry,
        )

    def observe_stage(
        self, strategy: str, stage: str, outcome: str, error_code: str, seconds: float
    ) -> None:
        """Count one attempt of a stage and observe how long it took."""
        key = (strategy, stage, outcome, error_code)
        children = self._stage_children.get(key)
        if children is None:  # the labelled children, looked up once per label set
            children = (
                self.stage_seconds.labels(strategy, stage, outcome),
                self.stage_attempts.labels(strategy, stage, outcome, error_code),
            )
            self._stage_children[key] = children
        children[0].observe(seconds)
        children[1].inc()

    def observe_webhook_delivery(self, result: DeliveryStatus, event_type: str) -> None:
        """Count one webhook delivery try."""
        self.webhook_tries.labels(result.value, event_type).inc()
        if result is DeliveryStatus.DEAD:
            self.webhook_dead_letters.labels(event_type).inc()


TERMINAL = {"SUCCEEDED", "FAILED_VALIDATION", "FAILED", "ROLLED_BACK", "CANCELLED"}


class ObservabilityInterceptor(Interceptor):
    """Worker interceptor writing audit records and metrics for every run and stage."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self._metrics = metrics
        install_state_records(metrics)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityObserver(next, self._metrics)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _WorkflowObserver


# ---------------------------------------------------------------------- workflow side


class _RunContext:
    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self._tag_head = b"{"

    def set_fields(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        # The run's part of every activity's audit tag, encoded once per run.
        self._tag_head = json.dumps(fields, separators=(",", ":"))[:-1].encode() + b","

    def tag(self, stage: str) -> bytes:
        """The audit tag (a JSON object) of this run's activity of `stage`."""
        return self._tag_head + b'"stage":' + json.dumps(stage).encode() + b"}"

    @property
    def strategy(self) -> str:
        return str(self.fields.get("strategy", "unknown"))


class _WorkflowObserver(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self._context = _RunContext()
        super().init(_WorkflowOutboundObserver(outbound, self._context))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        run = input.args[0] if input.args else None
        info = workflow.info()
        if isinstance(run, ProvisionRun):
            device = run.request.device
            self._context.set_fields(
                {
                    "workflow_id": info.workflow_id,
                    "run_id": info.run_id,
                    "device_id": device.device_id,
                    "strategy": run.strategy,
                    "vendor": device.vendor,
                    "site": device.site,
                    "started_by": run.started_by,
                }
            )
        else:
            self._context.set_fields(
                {
                    "workflow_id": info.workflow_id,
                    "run_id": info.run_id,
                    "strategy": info.workflow_type,
                }
            )
        return await super().execute_workflow(input)


class _WorkflowOutboundObserver(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, context: _RunContext) -> None:
        super().__init__(next)
        self._context = context

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        # A lifecycle run names the stage (STAGE_ATTRIBUTE); other workflows in their
        # activities' summaries (`<stage>: …`).
        named = getattr(workflow.instance(), STAGE_ATTRIBUTE, None)
        stage = named or (input.summary or "").split(":", 1)[0] or input.activity
        # The JSON object as the payload's data, without the payload converter: headers
        # never go through the codec, and the tag holds ids and names only.
        payload = Payload(metadata=_JSON_PLAIN, data=self._context.tag(stage))
        input.headers = {**input.headers, AUDIT_HEADER: payload}
        return super().start_activity(input)


class StateRecorder:
    """Turns the lifecycle's state changes into audit records and metrics.

    The lifecycle calls it at each state change, never while a worker replays history
    (`workflows.lifecycle.observe_states`); it adds nothing to the workflow but the call.
    """

    def __init__(self, metrics: WorkerMetrics) -> None:
        self._metrics = metrics

    def __call__(self, fields: dict[str, Any]) -> None:
        write_audit({"kind": "state", **fields})
        strategy, state = str(fields.get("strategy")), str(fields.get("state"))
        self._metrics.transitions.labels(strategy, state).inc()
        if state in TERMINAL:
            code = str(fields.get("error_code") or "")
            self._metrics.runs_finished.labels(strategy, state, code).inc()


@functools.cache
def install_state_records(metrics: WorkerMetrics | None = None) -> None:
    """Route the lifecycle's state changes to the audit log and metrics (once per process
    and metrics)."""
    observe_states(StateRecorder(metrics or process_worker_metrics()))


# ---------------------------------------------------------------------- activity side


def _tag_of(headers: Mapping[str, Payload]) -> dict[str, Any]:
    payload = headers.get(AUDIT_HEADER)
    if payload is None:
        return {}
    try:
        decoded = json.loads(payload.data)
        if isinstance(decoded, str):  # as workers before 2026-12-06 wrote it: a JSON string
            decoded = json.loads(decoded)
    except (ValueError, TypeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


class _ActivityObserver(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: WorkerMetrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        tag = _tag_of(input.headers)
        stage_named = tag.get("stage", info.activity_type)
        strategy, stage = str(tag.get("strategy", "unknown")), str(stage_named)
        # Built only when written: the audit log is off in most processes.
        record: dict[str, Any] | None = None
        if audit_logger.isEnabledFor(logging.INFO):
            record = {
                **tag,
                "kind": "stage",
                "stage": stage_named,
                "activity": info.activity_type,
                "attempt": info.attempt,
                "task_queue": info.task_queue,
            }
            write_audit({**record, "event": "start"})
        started = time.perf_counter()
        outcome, error_code = "ok", ""
        try:
            return await super().execute_activity(input)
        except BaseException as error:
            outcome = "cancelled" if isinstance(error, asyncio.CancelledError) else "error"
            if isinstance(error, ApplicationError):
                error_code = error.type or ""
            else:
                error_code = type(error).__name__
            raise
        finally:
            seconds = time.perf_counter() - started
            if record is not None:
                write_audit(
                    {
                        **record,
                        "event": "end",
                        "duration_ms": round(seconds * 1000, 1),
                        "outcome": outcome,
                        "error_code": error_code or None,
                    }
                )
            self._metrics.observe_stage(strategy, stage, outcome, error_code, seconds)
