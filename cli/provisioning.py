"""`devprov provision`, `scan`, `runs show` and `cancel`: the installer's commands.

They speak the HTTP API through the client SDK (`$DEVPROV_API_URL`, `$DEVPROV_API_KEY`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from rich.console import Console

from cli.display import RichView, run_table, scan_table
from cli.exit_codes import ExitCode, for_state
from cli.options import api_option
from client import (
    ApiProblem,
    ApiUnreachable,
    CurrentNetworkCredentials,
    DevprovClient,
    FileCredentials,
    FirstAvailable,
    MissingSecrets,
    PromptCredentials,
    ProvisioningCoordinator,
    UnsupportedDevice,
)
from client.credentials import CredentialsUnavailable
from client.ports import CredentialsSource
from client.settings import ClientSettings
from config.settings import BleSettings
from domain.requests import ProvisionRequest, ReprovisionPolicy

T = TypeVar("T")


def _scan_backend() -> str:
    """`$DEVPROV_BLE_BACKEND`, else BlueZ: an installer's laptop has a real radio."""
    ble = BleSettings.from_env()
    return ble.backend if "backend" in ble.model_fields_set else "bluez"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the API-backed commands to the `devprov` parser."""
    api = api_option()

    provision = commands.add_parser(
        "provision", parents=[api], help="provision a device through the API"
    )
    provision.add_argument("device_id")
    provision.add_argument(
        "--request", type=Path, required=True, help="provision request JSON (examples/requests/)"
    )
    provision.add_argument(
        "--follow", action="store_true", help="show progress and answer prompts until the end"
    )
    provision.add_argument(
        "--credentials", type=Path, help="JSON file {ssid, passphrase} to answer PENDING_NETWORK"
    )
    provision.add_argument(
        "--os-network",
        action="store_true",
        help="offer the Wi-Fi network this machine is on (NetworkManager, macOS, Windows)",
    )
    provision.add_argument(
        "--no-input", action="store_true", help="never ask: cancel a run that needs an answer"
    )
    provision.add_argument(
        "--retry", type=int, default=0, metavar="N", help="retry a failed run up to N times"
    )
    provision.add_argument(
        "--reprovision",
        choices=[policy.value for policy in ReprovisionPolicy],
        help="for a device in service: reset (decommission, then provision) or migrate "
        "(to the request's network, without a factory reset); default: the request's, "
        "else never",
    )
    provision.add_argument(
        "--to-tenant",
        metavar="TENANT",
        help="with --reprovision migrate and an admin key: move the device to TENANT",
    )
    provision.set_defaults(handler=provision_device)

    scan = commands.add_parser("scan", help="find provisionable BLE (Improv) devices nearby")
    scan.add_argument("--timeout", type=float, default=5.0, help="seconds to listen")
    scan.add_argument(
        "--ble-backend",
        default=_scan_backend(),
        help="bluez[:hciN] or bumble-hci:<transport> (default: $DEVPROV_BLE_BACKEND or bluez)",
    )
    scan.add_argument("--site", default="local", help="site to put in the descriptors")
    scan.add_argument("--json", action="store_true", help="one device descriptor per line")
    scan.set_defaults(handler=scan_devices)

    cancel = commands.add_parser("cancel", parents=[api], help="cancel a device's run")
    cancel.add_argument("device_id")
    cancel.set_defaults(handler=cancel_run)


def add_runs_show(runs_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`devprov runs show <device-id>`."""
    show = runs_commands.add_parser("show", help="a device's run and its timeline (via the API)")
    show.add_argument("device_id")
    show.add_argument("--api", default=ClientSettings.from_env().url)
    show.add_argument("--json", action="store_true", help="the status as JSON")
    show.set_defaults(handler=show_run)


@contextlib.asynccontextmanager
async def api_client(args: argparse.Namespace) -> AsyncIterator[DevprovClient]:
    async with DevprovClient(args.api, ClientSettings.from_env().key) as client:
        yield client


def _refused(console: Console, error: ApiProblem) -> ExitCode:
    console.print(f"[red]{error.code}[/]: {error.detail}")
    for field_error in error.problem.errors or []:
        console.print(f"  {'.'.join(map(str, field_error.loc))}: {field_error.msg}")
    if isinstance(error, UnsupportedDevice):
        for rejection in error.reasons:
            console.print(f"  {rejection.strategy}: {'; '.join(rejection.reasons)}")
    return ExitCode.UNAVAILABLE if error.status == 503 else ExitCode.REFUSED


async def api_call(console: Console, call: Awaitable[T]) -> T | ExitCode:
    """The result of an API call, or the exit status of its failure (printed)."""
    try:
        return await call
    except ApiProblem as error:
        return _refused(console, error)
    except ApiUnreachable as error:
        console.print(f"[red]{error}[/]")
        return ExitCode.UNAVAILABLE


def _read_request(args: argparse.Namespace, console: Console) -> ProvisionRequest | None:
    try:
        data = json.loads(args.request.read_text())
    except (OSError, json.JSONDecodeError) as error:
        console.print(f"[red]cannot read {args.request}[/]: {error}")
        return None
    if isinstance(data, dict) and isinstance(data.get("device"), dict):
        data["device"].setdefault("device_id", args.device_id)
    if isinstance(data, dict) and getattr(args, "reprovision", None):
        data["reprovision"] = args.reprovision
    if isinstance(data, dict) and getattr(args, "to_tenant", None):
        data["tenant"] = args.to_tenant
    try:
        request = ProvisionRequest.model_validate(data)
    except ValidationError as error:
        console.print(f"[red]{args.request} is not a valid provision request[/]:")
        for item in error.errors(include_input=False, include_url=False):
            console.print(f"  {'.'.join(map(str, item['loc']))}: {item['msg']}")
        return None
    if request.device.device_id != args.device_id:
        console.print(
            f"[red]{args.request} describes device '{request.device.device_id}', "
            f"not '{args.device_id}'[/]"
        )
        return None
    return request


def _credentials(args: argparse.Namespace, view: RichView) -> CredentialsSource:
    sources: list[CredentialsSource] = []
    if args.credentials is not None:
        sources.append(FileCredentials(args.credentials))
    if args.os_network:
        sources.append(CurrentNetworkCredentials())
    if not args.no_input:
        sources.append(PromptCredentials(view.ask_credentials))
    return FirstAvailable(*sources)


async def provision_device(args: argparse.Namespace, console: Console) -> int:
    """Start a run; with `--follow`, follow it to the end answering its prompts."""
    request = _read_request(args, console)
    if request is None:
        return ExitCode.USAGE
    view = RichView(console, interactive=not args.no_input, retries=args.retry)
    async with api_client(args) as client:
        if not args.follow:
            started = await api_call(console, client.start_provisioning(request))
            if isinstance(started, ExitCode):
                return started
            print(started.model_dump_json())
            return ExitCode.OK
        coordinator = ProvisioningCoordinator(client, view, _credentials(args, view))
        return await _follow(coordinator, request, console, view)


async def _follow(
    coordinator: ProvisioningCoordinator,
    request: ProvisionRequest,
    console: Console,
    view: RichView,
) -> int:
    device_id = request.device.device_id
    secrets = {name: value.get_secret_value() for name, value in request.secrets.items()}
    task = asyncio.ensure_future(
        coordinator.provision(
            request.device,
            network=request.network,
            secrets=secrets,
            strategy=request.strategy,
            reprovision=request.reprovision,
            tenant=request.tenant,
        )
    )
    cancelled = False
    while True:
        try:
            outcome = await asyncio.shield(task)
        except asyncio.CancelledError:
            # Ctrl-C (asyncio.run cancels the main task): ask whether to cancel the run,
            # rolling the device back, or to stop following it.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            if task.done() or cancelled or not sys.stdin.isatty():
                task.cancel()
                console.print(f"stopped following; the run of {device_id} goes on")
                return ExitCode.DETACHED
            answer = await view.ask("Cancel the run and roll the device back? [y/N] ")
            if answer.strip().lower() in {"y", "yes"}:
                cancelled = True
                await coordinator.cancel(device_id)
            continue
        except MissingSecrets as error:
            console.print(f"[red]{error}[/]")
            return ExitCode.USAGE
        except ApiProblem as error:
            return _refused(console, error)
        except ApiUnreachable as error:
            console.print(f"[red]{error}[/]")
            return ExitCode.UNAVAILABLE
        except CredentialsUnavailable as error:
            console.print(f"[red]{error}[/]")
            await coordinator.cancel(device_id)
            return ExitCode.USAGE
        cancelled = cancelled or device_id in coordinator.cancelled
        code = for_state(outcome.state, cancelled=cancelled)
        console.print(f"{device_id}: {outcome.state.value} — {outcome.message}")
        return code


async def scan_devices(args: argparse.Namespace, console: Console) -> int:
    """Listen for Improv devices and list them (or print their descriptors)."""
    from adapters.ble import BleRadioUnavailable, UnknownBleBackend
    from client.ble_scan import improv_scanner

    try:
        async with improv_scanner(args.ble_backend, site=args.site) as scanner:
            console.print(f"listening for {args.timeout:g} s on {args.ble_backend} ...")
            found = await scanner.scan(args.timeout)
    except (BleRadioUnavailable, UnknownBleBackend) as error:
        console.print(f"[red]no BLE radio[/]: {error}")
        return ExitCode.UNAVAILABLE
    if args.json:
        for device in found:
            print(device.descriptor.model_dump_json())
    else:
        console.print(scan_table(found))
    return ExitCode.OK


async def show_run(args: argparse.Namespace, console: Console) -> int:
    """Print a device's run: state, awaiting, and its timeline."""
    async with api_client(args) as client:
        status = await api_call(console, client.get_run(args.device_id))
    if isinstance(status, ExitCode):
        return status
    if args.json:
        print(status.model_dump_json())
        return ExitCode.OK
    console.print(run_table(status))
    awaiting = f" — awaiting {', '.join(status.awaiting)}" if status.awaiting else ""
    console.print(f"{status.state.value}: {status.message}{awaiting}")
    return ExitCode.OK


async def cancel_run(args: argparse.Namespace, console: Console) -> int:
    """Ask the device's run to cancel; it rolls the device back."""
    async with api_client(args) as client:
        snapshot = await api_call(console, client.cancel(args.device_id))
    if isinstance(snapshot, ExitCode):
        return snapshot
    console.print(f"cancellation requested (the run was {snapshot.state.value})")
    return ExitCode.OK
