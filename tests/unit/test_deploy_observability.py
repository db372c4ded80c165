"""The dashboard and alert rules in deploy/ only name metrics that devprov exposes."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client import CollectorRegistry
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from api.metrics import ApiMetrics
from tests.fakes import FakeWifiDevice
from tests.network import free_port
from tests.workflows.helpers import http_wifi_run, network, new_device_id, start_run
from worker.observability import WorkerMetrics
from worker.workers import central_worker, edge_worker

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\b((?:devprov|temporal)_[a-z0-9_]+)\b")


def expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "devprov-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs += [r["expr"] for group in rules["groups"] for r in group["rules"]]
    return exprs


def referenced(prefix: str) -> set[str]:
    return {name for e in expressions() for name in METRIC.findall(e) if name.startswith(prefix)}


def exposed_names(registry: CollectorRegistry) -> set[str]:
    return {sample.name for family in registry.collect() for sample in family.samples} | {
        family.name for family in registry.collect()
    }


def devprov_metric_names() -> set[str]:
    api = ApiMetrics()
    worker_registry = CollectorRegistry()
    worker = WorkerMetrics(worker_registry)
    # Touch each labelled metric so that its samples (and _bucket/_total names) exist.
    api.requests.labels("GET", "/x", "200").inc()
    api.request_seconds.labels("/x").observe(0.1)
    api.runs_started.labels("s").inc()
    api.runs_open.labels("WAITING_FOR_DEVICE").set(0)
    worker.stage_seconds.labels("s", "detect", "ok").observe(0.1)
    worker.stage_attempts.labels("s", "detect", "ok", "").inc()
    worker.transitions.labels("s", "DETECTING").inc()
    worker.runs_finished.labels("s", "SUCCEEDED", "").inc()
    return exposed_names(api.registry) | exposed_names(worker_registry)


def test_alert_rules_and_dashboard_parse() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())

    assert all(
        {"alert", "expr", "annotations"} <= set(r) for g in rules["groups"] for r in g["rules"]
    )
    assert len(expressions()) >= 10


def test_every_devprov_metric_referenced_exists() -> None:
    missing = referenced("devprov_") - devprov_metric_names()

    assert missing == set()


async def test_every_temporal_sdk_metric_referenced_exists(
    temporal_env: WorkflowEnvironment, site: str
) -> None:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    target = temporal_env.client.service_client.config.target_host
    client = await Client.connect(
        target, data_converter=temporal_env.client.data_converter, runtime=runtime
    )
    device = FakeWifiDevice(device_id=new_device_id())
    queue = f"central-{uuid.uuid4().hex[:8]}"
    async with (
        central_worker(client, task_queue=queue),
        edge_worker(client, site=site, activities=device.activities()),
    ):
        handle = await start_run(
            client, http_wifi_run(device.device_id, site, with_network=network()), queue
        )
        await handle.result()
        async with httpx.AsyncClient(trust_env=False) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}

    missing = referenced("temporal_") - exposed
    assert missing == set()


def test_prometheus_scrape_config_names_every_endpoint() -> None:
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())

    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == {"devprov-api", "devprov-workers", "temporal-sdk"}
    assert config["rule_files"] == ["alerts.yml"]
