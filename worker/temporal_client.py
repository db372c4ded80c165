"""Connecting to Temporal with the converter every devprov client must use."""

from __future__ import annotations

import functools

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config.settings import Settings


@functools.cache
def _runtime_with_sdk_metrics(port: int) -> Runtime:
    # One runtime per process and port: the SDK's own metrics (task latencies, poll
    # counts, slots) on a Prometheus endpoint of their own.
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )


async def connect(settings: Settings) -> Client:
    """A Temporal client with the pydantic data converter (and SDK metrics if asked)."""
    runtime = (
        _runtime_with_sdk_metrics(settings.sdk_metrics_port) if settings.sdk_metrics_port else None
    )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
