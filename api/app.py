"""The aiohttp application factory and a helper to serve it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from api import (
    ops,
    routes_decommission,
    routes_devices,
    routes_enrollments,
    routes_fleets,
    routes_runs,
    routes_streams,
    routes_webhooks,
)
from api.access import auth_middleware
from api.console import add_console_routes
from api.dependencies import ApiDependencies
from api.idempotency import IDEMPOTENCY, idempotency_middleware
from api.keys import (
    DECOMMISSIONS,
    DEPENDENCIES,
    DEVICES,
    ENROLLMENTS,
    FAMILIES,
    FLEET_HUB,
    FLEETS,
    HOOKS,
    HUB,
    METRICS,
    RUNS,
    WEBHOOKS,
)
from api.metrics import ApiMetrics
from api.openapi import serve_openapi, share_openapi_document
from api.path_identifiers import path_identifiers_middleware
from api.problems import answering_problems, problem_middleware
from api.server_logs import RedactingAccessLogger, keep_refused_bytes_out_of_the_server_log
from api.streams import ProgressHub
from connection.secret_box import secret_box_of
from domain.api_models import API_PREFIX
from registry.enrollments import EnrollmentStore
from registry.hooks import HookStore
from registry.idempotency import IdempotencyKeys
from registry.start_facts import read_start_facts
from registry.webhooks import WebhookStore
from services.decommissions import Decommissions
from services.devices import DeviceInventory
from services.enrollments import Enrollments
from services.fleets import FleetRuns
from services.history_watch import HistoryWatch
from services.hooks import PreProvisioningHooks
from services.runs import ProvisioningRuns
from services.webhooks import WebhookSubscriptions
from strategies.family import installed_families

__all__ = ["ApiDependencies", "ApiServer", "create_app", "start_api"]

logger = logging.getLogger("devprov.api")

PRE_PROVISIONING_HOOK_PATH = f"{API_PREFIX}/tenant/settings/pre-provisioning-hook"
MAX_REQUEST_LINE_BYTES = 22 * 1024
"""Room for a path with two identifiers of 10 KB (a webhook's event), refused with a
problem answer by the API rather than the parser's plain-text 400."""


def create_app(deps: ApiDependencies) -> web.Application:
    """Build the API application from its dependencies (nothing global)."""
    metrics = ApiMetrics()
    app = web.Application(
        middlewares=[
            metrics.middleware(),
            problem_middleware,
            auth_middleware(),
            path_identifiers_middleware(),
            idempotency_middleware(),
        ],
        # Each route enforces its own limit (api.bodies); this is the largest of them.
        client_max_size=max(
            deps.settings.api.max_request_bytes, deps.settings.api.max_fleet_request_bytes
        ),
    )
    families = installed_families() if deps.families is None else list(deps.families)
    app[DEPENDENCIES] = deps
    app[METRICS] = metrics
    app[FAMILIES] = {family.name: family for family in families}
    app[DEVICES] = DeviceInventory(deps.devices, deps.temporal)
    if deps.devices is not None:  # the keys live in the registry's database
        app[IDEMPOTENCY] = IdempotencyKeys(deps.devices.database)
    app[ENROLLMENTS] = Enrollments(
        EnrollmentStore(deps.devices.database) if deps.devices is not None else None
    )
    secrets = secret_box_of(deps.temporal.data_converter) if deps.temporal is not None else None
    app[HOOKS] = PreProvisioningHooks(
        HookStore(deps.devices.database) if deps.devices is not None else None,
        secrets,
        allow_private=deps.settings.webhooks.allow_private,
    )
    app[WEBHOOKS] = WebhookSubscriptions(
        WebhookStore(deps.devices.database) if deps.devices is not None else None,
        deps.temporal,
        deps.task_queue,
        secrets,
        allow_private=deps.settings.webhooks.allow_private,
        poll_seconds=deps.settings.webhooks.poll_seconds,
        secret_grace_seconds=deps.settings.webhooks.secret_grace_seconds,
    )
    app[RUNS] = ProvisioningRuns(
        deps.temporal,
        deps.registry,
        deps.policies,
        deps.task_queue,
        families=families,
        start_facts=(
            functools.partial(read_start_facts, deps.devices.database)
            if deps.devices is not None
            else None
        ),
        enrollments=app[ENROLLMENTS],
    )
    app[DECOMMISSIONS] = Decommissions(
        deps.temporal,
        deps.policies,
        deps.task_queue,
        devices=app[DEVICES],
        provisioning=app[RUNS],
        families=families,
        webhooks=app[WEBHOOKS],
    )
    share_openapi_document(app, families)
    app[FLEETS] = FleetRuns(
        deps.temporal,
        deps.registry,
        deps.policies,
        deps.task_queue,
        enrollments=app[ENROLLMENTS],
        hooks=app[HOOKS],
        webhooks=app[WEBHOOKS],
    )
    app.cleanup_ctx.append(_progress_hub)
    app.on_shutdown.append(_end_streams)
    _add_routes(app)
    return app


def _add_routes(app: web.Application) -> None:
    run = f"{API_PREFIX}/devices/{{device_id}}/provision"
    decommission = f"{API_PREFIX}/devices/{{device_id}}/decommission"
    fleet = f"{API_PREFIX}/fleets/{{fleet_id}}/provision"
    app.router.add_routes(
        [
            web.post(run, routes_runs.start_run, name="start_run"),
            web.get(run, routes_runs.run_status, name="run_status", allow_head=False),
            web.get(
                f"{run}/events", routes_streams.progress_events, name="events", allow_head=False
            ),
            web.get(f"{run}/ws", routes_streams.progress_websocket, name="ws", allow_head=False),
            web.post(f"{run}/stream-ticket", routes_streams.stream_ticket, name="stream_ticket"),
            web.post(f"{run}/credentials", routes_runs.submit_credentials, name="credentials"),
            web.post(
                f"{run}/forget-credentials",
                routes_runs.forget_credentials,
                name="forget_credentials",
            ),
            web.post(
                f"{run}/client-ble-result", routes_runs.client_ble_result, name="client_ble_result"
            ),
            web.post(f"{run}/retry", routes_runs.retry_run, name="retry"),
            web.post(f"{run}/cancel", routes_runs.cancel_run, name="cancel"),
            web.post(
                decommission, routes_decommission.start_decommission, name="start_decommission"
            ),
            web.get(decommission, routes_decommission.decommission_status, allow_head=False),
            web.get(f"{decommission}/events", routes_streams.decommission_events, allow_head=False),
            web.get(f"{decommission}/ws", routes_streams.decommission_websocket, allow_head=False),
            web.post(f"{decommission}/cancel", routes_decommission.cancel_decommission),
            web.post(fleet, routes_fleets.start_fleet, name="start_fleet"),
            web.get(fleet, routes_fleets.fleet_status, name="fleet_status", allow_head=False),
            web.get(f"{fleet}/events", routes_fleets.fleet_events, allow_head=False),
            web.post(
                f"{fleet}/stream-ticket", routes_streams.stream_ticket, name="fleet_stream_ticket"
            ),
            web.post(f"{fleet}/retry", routes_fleets.retry_fleet, name="fleet_retry"),
            web.post(f"{fleet}/skip", routes_fleets.skip_devices, name="fleet_skip"),
            web.post(f"{fleet}/cancel", routes_fleets.cancel_fleet, name="fleet_cancel"),
            web.get(f"{API_PREFIX}/devices", routes_devices.list_devices, allow_head=False),
            web.get(
                f"{API_PREFIX}/devices/{{device_id}}",
                routes_devices.show_device,
                name="device",
                allow_head=False,
            ),
            web.post(f"{API_PREFIX}/devices/{{device_id}}/release", routes_devices.release_device),
            web.post(
                f"{API_PREFIX}/devices/{{device_id}}/transfer", routes_devices.transfer_device
            ),
            *_enrollment_routes(),
            *_webhook_routes(),
            web.get(f"{API_PREFIX}/runs", routes_runs.list_provisioning_runs, allow_head=False),
            web.get(f"{API_PREFIX}/strategies", routes_runs.list_strategies, allow_head=False),
            web.post(f"{API_PREFIX}/strategies/match", routes_runs.match_strategy),
            web.get(f"{API_PREFIX}/openapi.json", serve_openapi, allow_head=False),
            web.get("/healthz", ops.healthz, allow_head=False),
            web.get("/readyz", ops.readyz, allow_head=False),
            web.get("/metrics", ops.metrics, allow_head=False),
        ]
    )
    add_console_routes(app)


def _enrollment_routes() -> list[web.RouteDef]:
    individual = f"{API_PREFIX}/enrollments/individual"
    group = f"{API_PREFIX}/enrollments/group"
    settings = f"{API_PREFIX}/tenant/settings"
    e = routes_enrollments
    return [
        web.post(individual, e.add_individual),
        web.get(individual, e.list_individuals, allow_head=False),
        web.post(f"{API_PREFIX}/enrollments/import", e.import_individuals),
        web.get(f"{individual}/{{device_id}}", e.show_individual, allow_head=False),
        web.patch(f"{individual}/{{device_id}}", e.update_individual),
        web.delete(f"{individual}/{{device_id}}", e.delete_individual),
        web.post(group, e.add_group),
        web.get(group, e.list_groups, allow_head=False),
        web.get(f"{group}/{{group_id}}", e.show_group, allow_head=False),
        web.patch(f"{group}/{{group_id}}", e.update_group),
        web.delete(f"{group}/{{group_id}}", e.delete_group),
        web.get(settings, e.show_settings, allow_head=False),
        web.put(settings, e.put_settings),
    ]


def _webhook_routes() -> list[web.RouteDef]:
    webhooks = f"{API_PREFIX}/webhooks"
    one = f"{webhooks}/{{webhook_id}}"
    w = routes_webhooks
    return [
        web.post(webhooks, w.create_webhook),
        web.get(webhooks, w.list_webhooks, allow_head=False),
        web.get(one, w.show_webhook, allow_head=False),
        web.patch(one, w.update_webhook),
        web.delete(one, w.delete_webhook),
        web.post(f"{one}/rotate-secret", w.rotate_secret),
        web.get(f"{one}/deliveries", w.list_deliveries, allow_head=False),
        web.post(f"{one}/deliveries/{{event_id}}/redeliver", w.redeliver),
        web.get(PRE_PROVISIONING_HOOK_PATH, w.show_hook, allow_head=False),
        web.put(PRE_PROVISIONING_HOOK_PATH, w.put_hook),
        web.delete(PRE_PROVISIONING_HOOK_PATH, w.delete_hook),
    ]


async def _progress_hub(app: web.Application) -> AsyncIterator[None]:
    runs = app[RUNS]
    interval = app[DEPENDENCIES].settings.api.sse_poll_interval_seconds
    changes = (await HistoryWatch.over_own_connection(app[DEPENDENCIES].temporal)).changes
    hub = ProgressHub(answering_problems(runs.query_progress), interval, changes)
    fleet_hub = ProgressHub(answering_problems(app[FLEETS].query_progress), interval, changes)
    app[HUB] = hub
    app[FLEET_HUB] = fleet_hub
    app[METRICS].watch_hubs(hub, fleet_hub)
    counting = asyncio.create_task(_count_open_runs(app), name="count-open-runs")
    yield
    counting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await counting
    await hub.close()
    await fleet_hub.close()


async def _count_open_runs(app: web.Application) -> None:
    deps = app[DEPENDENCIES]
    while True:
        try:
            await app[METRICS].count_open_runs(deps.temporal)
        except Exception as error:  # visibility may be briefly unavailable
            logger.debug("counting open runs failed: %s", error)
        await asyncio.sleep(deps.settings.metrics.refresh_seconds)


async def _end_streams(app: web.Application) -> None:
    # on_shutdown runs before the server waits for open connections: ending the
    # streams here lets SSE and WebSocket handlers return instead of being cut off.
    await app[HUB].close()
    await app[FLEET_HUB].close()


@dataclass(frozen=True)
class ApiServer:
    """The API served over TCP; `port` is the bound one (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:8080`."""
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        """End open streams, stop accepting connections and release everything."""
        await self.runner.cleanup()


async def start_api(
    deps: ApiDependencies, host: str, port: int, *, shutdown_timeout: float = 5.0
) -> ApiServer:
    """Serve `create_app(deps)` on `host:port` (0 picks a free port) and return at once."""
    keep_refused_bytes_out_of_the_server_log()
    runner = web.AppRunner(
        create_app(deps),
        shutdown_timeout=shutdown_timeout,
        handle_signals=False,
        access_log_class=RedactingAccessLogger,
        # Room for a path of the longest identifiers, so that one too long gets a
        # problem answer from the API rather than the parser's plain-text 400.
        max_line_size=MAX_REQUEST_LINE_BYTES,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return ApiServer(runner=runner, host=host, port=bound_port)
