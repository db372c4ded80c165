"""Runtime settings of the API, the workers and the embedded stack, from the environment."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """An environment variable holds an invalid value."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not 0 <= value <= 65535:
        raise SettingsError(f"{name} must be a port number (0-65535), got {value}")
    return value


def _optional_port(env: Mapping[str, str], name: str) -> int | None:
    return _int(env, name, 0) or None if env.get(name) else None


def _optional_number(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _host_name(raw: str) -> str:
    """A task-queue-safe host name: lowercase letters, digits and '-'."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    return cleaned[:63] or "edge"


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable by environment variable (see docs/configuration.md)."""

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    temporal_ui_url: str | None = None
    """Base URL of the Temporal Web UI that the console links runs to."""
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    simulator_host: str = "127.0.0.1"
    simulator_http_port: int = 8090
    codec_port: int = 8096
    cloud_port: int = 8092
    cloud_url: str = "http://127.0.0.1:8092"
    cloud_api_key: str = "devprov-cloud-dev-key"
    cloud_claim_token: str = "devprov-fleet-claim-dev"
    """Claim exchanged for per-device credentials (a secret of the central workers)."""
    data_dir: Path = Path("data")
    site: str = "local"
    edge_host: str = "gw1"
    edge_capabilities: tuple[str, ...] = ()
    """Edge capabilities to host; empty means all of them."""
    default_strategy: str | None = None
    disabled_strategies: tuple[str, ...] = ()
    http_device_address_template: str = "http://127.0.0.1:8090/devices/{device_id}"
    http_device_timeout_seconds: float = 5.0
    ble_backend: str = "virtual"
    """Edge workers' BLE backend: `virtual`, `bluez[:<adapter>]`, `bumble-hci:<transport>`."""
    ble_scan_timeout_seconds: float = 5.0
    simulator_ble_port: int = 8091
    """Control API and web pages of the simulated Improv devices (embedded stack)."""
    simulator_ble_hci_port: int = 8097
    """HCI-over-TCP controller on the simulated BLE link, for `devprov scan` (embedded)."""
    zigbee_radio: str = "simulated"
    """Edge workers' Zigbee radio: `simulated`, `znp:<port>`, `ezsp:<port>`, `deconz:<port>`."""
    zigbee_baudrate: int | None = None
    zigbee_channel: int | None = 15
    """Channel of a network the coordinator forms (None: zigpy picks one by energy scan)."""
    zigbee_capacity: int = 100
    """Devices a gateway's Zigbee network may hold."""
    simulator_zigbee_port: int = 8093
    """Control API of the simulated Zigbee devices (embedded stack)."""
    sse_poll_interval_seconds: float = 0.5
    metrics_refresh_seconds: float = 10.0
    """How often the API counts open runs per state for `/metrics`."""
    serve_process_metrics: bool = True
    """`/metrics` of the API also shows this process's worker metrics (embedded stack)."""
    worker_metrics_port: int | None = None
    """Serve the workers' Prometheus metrics on this port (standalone workers)."""
    sdk_metrics_port: int | None = None
    """Serve the Temporal SDK's runtime metrics on this port."""
    metrics_host: str = "127.0.0.1"
    """Address the worker and SDK metrics endpoints bind to (`0.0.0.0` in a container)."""
    worker_health_port: int | None = None
    """Serve a standalone worker's `/healthz` and `/readyz` on this port."""
    worker_graceful_shutdown_seconds: float = 10.0
    """How long a stopping worker lets its in-flight tasks finish before cancelling them."""
    max_request_bytes: int = 64 * 1024
    max_fleet_request_bytes: int = 2 * 1024 * 1024
    """Fleet requests list up to 10,000 devices."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        sim_host = env.get("DEVPROV_SIMULATOR_HOST", "127.0.0.1")
        sim_port = _int(env, "DEVPROV_SIMULATOR_HTTP_PORT", 8090)
        temporal_port = _int(env, "DEVPROV_TEMPORAL_PORT", 7233)
        return cls(
            temporal_address=env.get("DEVPROV_TEMPORAL_ADDRESS", f"127.0.0.1:{temporal_port}"),
            temporal_namespace=env.get("DEVPROV_TEMPORAL_NAMESPACE", "default"),
            temporal_ui_port=_int(env, "DEVPROV_TEMPORAL_UI_PORT", 8233),
            temporal_ui_url=env.get("DEVPROV_TEMPORAL_UI_URL") or None,
            api_host=env.get("DEVPROV_API_HOST", "127.0.0.1"),
            api_port=_int(env, "DEVPROV_API_PORT", 8080),
            simulator_host=sim_host,
            simulator_http_port=sim_port,
            codec_port=_int(env, "DEVPROV_CODEC_PORT", 8096),
            cloud_port=_int(env, "DEVPROV_CLOUD_PORT", 8092),
            cloud_url=env.get(
                "DEVPROV_CLOUD_URL",
                f"http://127.0.0.1:{_int(env, 'DEVPROV_CLOUD_PORT', 8092)}",
            ),
            cloud_api_key=env.get("DEVPROV_CLOUD_API_KEY", "devprov-cloud-dev-key"),
            cloud_claim_token=env.get("DEVPROV_CLOUD_CLAIM_TOKEN", "devprov-fleet-claim-dev"),
            data_dir=Path(env.get("DEVPROV_DATA_DIR", "data")),
            site=env.get("DEVPROV_SITE", "local"),
            edge_host=_host_name(env.get("DEVPROV_EDGE_HOST") or socket.gethostname()),
            edge_capabilities=_list(env, "DEVPROV_EDGE_CAPABILITIES"),
            default_strategy=env.get("DEVPROV_DEFAULT_STRATEGY") or None,
            disabled_strategies=_list(env, "DEVPROV_DISABLED_STRATEGIES"),
            http_device_address_template=env.get(
                "DEVPROV_HTTP_DEVICE_ADDRESS_TEMPLATE",
                f"http://{sim_host}:{sim_port}/devices/{{device_id}}",
            ),
            http_device_timeout_seconds=float(env.get("DEVPROV_HTTP_DEVICE_TIMEOUT", "5")),
            ble_backend=env.get("DEVPROV_BLE_BACKEND", "virtual"),
            ble_scan_timeout_seconds=float(env.get("DEVPROV_BLE_SCAN_TIMEOUT", "5")),
            simulator_ble_port=_int(env, "DEVPROV_SIMULATOR_BLE_PORT", 8091),
            simulator_ble_hci_port=_int(env, "DEVPROV_SIMULATOR_BLE_HCI_PORT", 8097),
            zigbee_radio=env.get("DEVPROV_ZIGBEE_RADIO") or "simulated",
            zigbee_baudrate=_optional_number(env, "DEVPROV_ZIGBEE_BAUDRATE"),
            zigbee_channel=(
                None
                if env.get("DEVPROV_ZIGBEE_CHANNEL", "").lower() == "auto"
                else _int(env, "DEVPROV_ZIGBEE_CHANNEL", 15)
            ),
            zigbee_capacity=_int(env, "DEVPROV_ZIGBEE_CAPACITY", 100),
            simulator_zigbee_port=_int(env, "DEVPROV_SIMULATOR_ZIGBEE_PORT", 8093),
            sse_poll_interval_seconds=float(env.get("DEVPROV_SSE_POLL_INTERVAL", "0.5")),
            metrics_refresh_seconds=float(env.get("DEVPROV_METRICS_REFRESH", "10")),
            worker_metrics_port=_optional_port(env, "DEVPROV_WORKER_METRICS_PORT"),
            sdk_metrics_port=_optional_port(env, "DEVPROV_SDK_METRICS_PORT"),
            metrics_host=env.get("DEVPROV_METRICS_HOST") or "127.0.0.1",
            worker_health_port=_optional_port(env, "DEVPROV_WORKER_HEALTH_PORT"),
            worker_graceful_shutdown_seconds=float(
                env.get("DEVPROV_WORKER_GRACEFUL_SHUTDOWN") or "10"
            ),
        )
