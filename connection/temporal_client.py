"""Connecting to Temporal with the converter every devprov client must use."""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config.settings import Settings
from connection.codec import data_converter, load_key_ring

logger = logging.getLogger("devprov.temporal_client")


@functools.cache
def _runtime_with_sdk_metrics(host: str, port: int) -> Runtime:
    # One runtime per process and port: the SDK's own metrics (task latencies, poll
    # counts, slots) on a Prometheus endpoint of their own.
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}"))
    )


def key_file(settings: Settings) -> Path:
    """Where a key ring made for the embedded stack lives (its data directory)."""
    return settings.data_dir / "codec-keys"


async def connect(
    settings: Settings, *, create_keys: bool = False, sdk_metrics: bool = True
) -> Client:
    """A Temporal client with devprov's converter: pydantic JSON, encrypted payloads.

    The key ring comes from `$DEVPROV_CODEC_KEYS`, `$DEVPROV_CODEC_KEY_FILE`, or the
    data directory's `codec-keys` (made there first when `create_keys`). Short-lived
    tools pass `sdk_metrics=False`: the SDK's metrics endpoint belongs to the services.
    """
    runtime = (
        _runtime_with_sdk_metrics(settings.metrics.host, settings.metrics.sdk_port)
        if settings.metrics.sdk_port and sdk_metrics
        else None
    )
    # TLS, mTLS and API keys come from Temporal's own environment configuration
    # (TEMPORAL_TLS_*, TEMPORAL_API_KEY, TEMPORAL_PROFILE, temporal.toml): see
    # docs/security.md. devprov's own variables win for the address and namespace.
    profile = ClientConfig.load_client_connect_config()
    address = settings.temporal.frontend
    if not settings.temporal.explicit_frontend and profile.get("target_host"):
        address = profile["target_host"]
    namespace = settings.temporal.namespace
    if not settings.temporal.explicit_namespace and profile.get("namespace"):
        namespace = profile["namespace"]
    return await Client.connect(
        address,
        namespace=namespace,
        api_key=profile.get("api_key"),
        tls=profile.get("tls", False),
        rpc_metadata=profile.get("rpc_metadata") or {},
        data_converter=data_converter(
            load_key_ring(settings.codec, default_file=key_file(settings), create=create_keys)
        ),
        runtime=runtime,
    )


async def connect_when_reachable(
    settings: Settings, *, give_up_after: float = 120.0, pause: float = 1.0
) -> Client:
    """`connect`, retried while the server does not answer (starting, restarting, or
    started together with this worker), so a worker does not exit on a refused
    connection; gives up after `give_up_after` seconds with the last error."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while True:
        try:
            return await connect(settings)
        except RuntimeError as error:
            if loop.time() >= deadline:
                raise
            logger.warning(
                "Temporal at %s is not reachable yet: %s", settings.temporal.frontend, error
            )
            await asyncio.sleep(pause)
