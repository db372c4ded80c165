"""The embedded default: the whole stack on one machine (`make run`).

Starts the Temporal dev server (SQLite file under the data directory), the simulated
devices of every installed family (the simulator its wiring names), the central and
edge workers and the API; prints what to open and what to try; stops everything in
reverse order on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

from api import ApiDependencies, start_api
from api.auth import AuthConfig, Scope, new_key
from config.policies import load_policy_book
from config.settings import LAN_OUTBOUND, EdgeSettings, Settings
from config.startup import run_service
from connection.temporal_client import connect, key_file
from registry import opened_registry
from simulators.family_simulator import FamilySimulator, SimulatorContext, StartedSimulator
from simulators.serving import serve_app
from strategies.catalog import build_registry
from strategies.family import FamilyError, load_object
from worker.capabilities import SimulatedWorld
from worker.central import central_activities
from worker.codec_server import create_codec_app
from worker.dev_server import DevServer, start_dev_server
from worker.edge import edge_node
from worker.families import embedded_simulators
from worker.logging_setup import configure_logging
from worker.workers import central_worker

logger = logging.getLogger("devprov.embedded")

EXAMPLES = Path("examples/requests")
DEFAULT_SDK_METRICS_PORT = 8095


def codec_note(settings: Settings, decoder_url: str, token: str) -> str:
    """Where the encrypted payloads can be read."""
    keys = settings.codec.key_file or key_file(settings).resolve()
    return (
        f"Payloads are encrypted (key ring: {keys}). The local Web UI decodes them through\n"
        f"  {decoder_url}\n"
        f"and so does the CLI: temporal workflow show ... --codec-endpoint {decoder_url} "
        f"--codec-auth 'Bearer {token}'\n"
    )


def simulated_devices_only(settings: Settings) -> EdgeSettings:
    """The gateway's outbound allow-list under `make run`: the simulated devices' ports
    (their RPC API and the Improv devices' web pages), not the simulated cloud's."""
    host, sims = settings.simulators.host, settings.simulators
    allowed = f"http://{host}:{sims.http_port} http://{host}:{sims.ble_port}"
    return settings.edge.model_copy(update={"outbound": allowed})


def audit_log_path(settings: Settings) -> Path:
    """Where the embedded stack writes its audit trail (JSON lines)."""
    return settings.worker.audit_log or settings.data_dir.resolve() / "audit.jsonl"


def banner(
    settings: Settings,
    api_url: str,
    ui_url: str | None,
    simulated: Sequence[StartedSimulator] = (),
) -> str:
    """What to open and what to try, printed once everything is up."""
    examples = sorted(p.stem for p in EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []
    preferred = [e for e in examples if e == "shelly-plus1-kitchen"] or examples or ["<device>"]
    device = preferred[0]
    lines = [
        "",
        "devprov is running",
        f"  API               {api_url}/api/v1  (OpenAPI: {api_url}/api/v1/openapi.json)",
        f"  Temporal Web UI   {ui_url or '(headless)'}",
        f"  Temporal gRPC     {settings.temporal.frontend}",
        *(f"  {label:<17} {text}" for started in simulated for label, text in started.lines),
        f"  Data directory    {settings.data_dir.resolve()}",
        f"  Audit log         {audit_log_path(settings)}",
        f"  Metrics           {api_url}/metrics  (Temporal SDK: "
        f"http://127.0.0.1:{settings.metrics.sdk_port}/metrics)",
        "",
        "Try:",
        f"  curl -si -X POST {api_url}/api/v1/devices/{device}/provision \\",
        '       -H "Authorization: Bearer $DEVPROV_API_KEY" \\',
        f"       -H 'Content-Type: application/json' -d @examples/requests/{device}.json",
        f'  curl -N -H "Authorization: Bearer $DEVPROV_API_KEY" '
        f"{api_url}/api/v1/devices/{device}/provision/events",
        f"  temporal workflow list --address {settings.temporal.frontend} "
        f"--query 'DeviceId=\"{device}\"'",
        *(f"  {hint}" for started in simulated for hint in started.hints),
        "",
        f"Example requests: {', '.join(examples) or '(none found)'}",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def family_simulators(
    settings: Settings, world: SimulatedWorld
) -> AsyncIterator[dict[str, StartedSimulator]]:
    """Start the simulator each installed family's wiring names (each after those it
    names), sharing with the edge workers of `world` what the wiring says they share;
    stop them all on exit."""
    async with contextlib.AsyncExitStack() as stack:
        started: dict[str, StartedSimulator] = {}
        for name, declared in embedded_simulators().items():
            start = load_object(declared.start)
            if not callable(start):
                raise FamilyError(f"family '{name}': {declared.start} is not a simulator")
            simulator = cast("FamilySimulator", start)
            context = SimulatorContext(settings, started=dict(started))
            started[name] = await stack.enter_async_context(simulator(context))
            if declared.shares is not None:
                world.share(declared.shares, started[name].resource)
        yield started


async def _stop_dev_server(starting: asyncio.Future[DevServer]) -> None:
    """Stop the dev server once it has started (also when the stack failed meanwhile)."""
    with contextlib.suppress(Exception):
        server = await starting
        await server.stop()


async def run_embedded(settings: Settings, stop: asyncio.Event) -> None:
    """Run the whole stack until `stop` is set."""
    host, _, port = settings.temporal.frontend.rpartition(":")
    async with contextlib.AsyncExitStack() as stack:
        codec_endpoint = f"http://127.0.0.1:{settings.codec.port}"
        # The simulators (moto takes seconds to import and start) start while the dev
        # server does.
        server_starting = asyncio.ensure_future(
            start_dev_server(
                data_dir=settings.data_dir,
                host=host or "127.0.0.1",
                port=int(port),
                ui_port=settings.temporal.ui_port,
                ui_codec_endpoint=f"{codec_endpoint}/codec",
            )
        )
        stack.push_async_callback(_stop_dev_server, server_starting)
        world = SimulatedWorld()
        simulated = await stack.enter_async_context(family_simulators(settings, world))
        for started in simulated.values():
            if started.settings is not None:
                settings = started.settings(settings)
        server = await server_starting
        client = await connect(settings, create_keys=True)
        codec_token = settings.codec.token or secrets.token_urlsafe(24)
        payload_codec = client.data_converter.payload_codec
        if payload_codec is not None:  # None with DEVPROV_CODEC=off
            codec, _ = await serve_app(
                create_codec_app(
                    payload_codec,
                    token=codec_token,
                    ui_origin=server.ui_url or "http://127.0.0.1",
                    trust_ui_origin=True,  # the local UI decodes; loopback only
                ),
                "127.0.0.1",
                settings.codec.port,
            )
            stack.push_async_callback(codec.cleanup)

        activities = await stack.enter_async_context(central_activities(settings))
        # The registry outlives the runs' histories: a SQLite file under the data directory.
        devices = await stack.enter_async_context(opened_registry(settings.registry_url))
        await stack.enter_async_context(
            central_worker(
                client, activities=activities, registry=devices, webhooks=settings.webhooks
            )
        )
        await stack.enter_async_context(
            edge_node(
                client, settings, site=settings.edge.site, host=settings.edge.host, world=world
            )
        )

        api_key = settings.api.key
        generated_key = None
        if not api_key:
            api_key, generated_key = new_key("default", Scope, key_id="makerun")
        registry = build_registry(
            default=settings.selection.default_strategy,
            disabled=settings.selection.disabled_strategies,
        )
        api = await start_api(
            ApiDependencies(
                temporal=client,
                registry=registry,
                devices=devices,
                policies=load_policy_book(),
                settings=settings.model_copy(
                    update={
                        "temporal": settings.temporal.model_copy(
                            update={"ui_url": settings.temporal.ui_url or server.ui_url}
                        )
                    }
                ),
                auth=AuthConfig.from_settings(settings, fallback_key=generated_key),
            ),
            host=settings.api.host,
            port=settings.api.port,
        )
        stack.push_async_callback(api.close)

        print(
            banner(settings, api.url, server.ui_url, list(simulated.values())),
            flush=True,
        )
        if payload_codec is not None:
            print(codec_note(settings, f"{codec_endpoint}/codec", codec_token), flush=True)
        print(
            "API key (admin of tenant 'default'"
            + (", from DEVPROV_API_KEY" if generated_key is None else ", made for this run")
            + f"):\n  export DEVPROV_API_KEY={api_key}\n",
            flush=True,
        )
        await stop.wait()
        print("stopping devprov ...", flush=True)
    print("devprov stopped", flush=True)


async def main() -> int:
    settings = Settings.from_env()
    AuthConfig.from_settings(settings)  # a refused key stops here, before anything starts
    if settings.edge.outbound == LAN_OUTBOUND:
        settings = settings.model_copy(update={"edge": simulated_devices_only(settings)})
    if settings.metrics.sdk_port is None:
        metrics = settings.metrics.model_copy(update={"sdk_port": DEFAULT_SDK_METRICS_PORT})
        settings = settings.model_copy(update={"metrics": metrics})
    if "DEVPROV_WEBHOOKS_ALLOW_PRIVATE" not in os.environ:
        # A receiver on this machine is what one tries first with the embedded stack.
        webhooks = settings.webhooks.model_copy(update={"allow_private": True})
        settings = settings.model_copy(update={"webhooks": webhooks})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(logging.WARNING, audit_log=audit_log_path(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_embedded(settings, stop)
    except OSError as error:
        print(f"devprov could not start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_service(main)
