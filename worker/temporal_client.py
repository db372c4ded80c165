"""Connecting to Temporal with the converter every devprov client must use."""

from __future__ import annotations

import functools
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config.settings import Settings
from worker.codec import data_converter, load_key_ring


@functools.cache
def _runtime_with_sdk_metrics(port: int) -> Runtime:
    # One runtime per process and port: the SDK's own metrics (task latencies, poll
    # counts, slots) on a Prometheus endpoint of their own.
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )


def key_file(settings: Settings) -> Path:
    """Where a key ring made for the embedded stack lives (its data directory)."""
    return settings.data_dir / "codec-keys"


async def connect(settings: Settings, *, create_keys: bool = False) -> Client:
    """A Temporal client with devprov's converter: pydantic JSON, encrypted payloads.

    The key ring comes from `$DEVPROV_CODEC_KEYS`, `$DEVPROV_CODEC_KEY_FILE`, or the
    data directory's `codec-keys` (made there first when `create_keys`).
    """
    runtime = (
        _runtime_with_sdk_metrics(settings.sdk_metrics_port) if settings.sdk_metrics_port else None
    )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(
            load_key_ring(default_file=key_file(settings), create=create_keys)
        ),
        runtime=runtime,
    )
