"""`devprov devices list|show|decommission`: the device registry's records, and taking a
device out of service, through the HTTP API."""

from __future__ import annotations

import argparse

from rich.console import Console

from cli.display import devices_table
from cli.exit_codes import ExitCode, for_state
from cli.options import api_option
from cli.provisioning import api_call, api_client
from domain.registry import DeviceState
from domain.states import ProvisioningState


def add_devices_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`devprov devices list`, `devprov devices show <device-id>` and
    `devprov devices decommission <device-id> [--follow]`."""
    api = api_option()
    devices = commands.add_parser("devices", help="devices in the registry (via the API)")
    devices_commands = devices.add_subparsers(dest="devices_command", required=True)

    listing = devices_commands.add_parser(
        "list", parents=[api], help="this key's tenant's devices, sorted by id"
    )
    listing.add_argument("--state", choices=[s.value for s in DeviceState])
    listing.add_argument("--strategy")
    listing.add_argument("--vendor")
    listing.add_argument("--site")
    listing.add_argument("--network", help="the SSID the devices joined")
    listing.add_argument("--tenant", help="another tenant's devices (admin keys only)")
    listing.add_argument("--limit", type=int, default=100, help="devices per page (1-1000)")
    listing.add_argument("--cursor", help="start after this page's cursor")
    listing.add_argument("--all", action="store_true", help="every page, not only the first")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=list_devices)

    show = devices_commands.add_parser("show", parents=[api], help="one device's record")
    show.add_argument("device_id")
    show.add_argument("--json", action="store_true", help="the record as JSON")
    show.set_defaults(handler=show_device)

    decommission = devices_commands.add_parser(
        "decommission", parents=[api], help="take a device out of service"
    )
    decommission.add_argument("device_id")
    decommission.add_argument(
        "--follow", action="store_true", help="show the run's progress until it ends"
    )
    decommission.set_defaults(handler=decommission_device)


async def list_devices(args: argparse.Namespace, console: Console) -> int:
    """Print the devices the filters select; the next page's cursor when there is one."""
    items = []
    cursor = args.cursor
    async with api_client(args) as client:
        while True:
            page = await api_call(
                console,
                client.list_devices(
                    state=DeviceState(args.state) if args.state else None,
                    strategy=args.strategy,
                    vendor=args.vendor,
                    site=args.site,
                    network=args.network,
                    tenant=args.tenant,
                    cursor=cursor,
                    limit=args.limit,
                ),
            )
            if isinstance(page, ExitCode):
                return page
            items += page.items
            cursor = page.next_cursor
            if cursor is None or not args.all:
                break
    if args.json:
        for item in items:
            print(item.model_dump_json())
    else:
        console.print(devices_table(items))
    if cursor is not None:
        console.print(f"more: --cursor {cursor}")
    return ExitCode.OK


async def show_device(args: argparse.Namespace, console: Console) -> int:
    """Print one device's record."""
    async with api_client(args) as client:
        view = await api_call(console, client.get_device(args.device_id))
    if isinstance(view, ExitCode):
        return view
    if args.json:
        print(view.model_dump_json())
        return ExitCode.OK
    for name, value in view.model_dump(mode="json", exclude={"links"}).items():
        if value is not None:
            console.print(f"{name:30} {value}")
    return ExitCode.OK


async def decommission_device(args: argparse.Namespace, console: Console) -> int:
    """Start the device's decommissioning run; with `--follow`, print its events until it
    ends (exit status as for a provisioning run: 0 when the device is out of service)."""
    async with api_client(args) as client:
        started = await api_call(console, client.decommission(args.device_id))
        if isinstance(started, ExitCode):
            return started
        console.print(f"started {started.workflow_id} (run {started.run_id}, {started.strategy})")
        if not args.follow:
            console.print(f"follow it: {started.links.events}")
            return ExitCode.OK
        state = ProvisioningState.PENDING
        try:
            async for event in client.decommission_events(args.device_id):
                state = event.state
                code = f" [{event.error_code}]" if event.error_code else ""
                console.print(f"{event.state.value:14} {event.message}{code}")
        except KeyboardInterrupt:
            console.print(f"stopped following; the run of {args.device_id} goes on")
            return ExitCode.DETACHED
        status = await api_call(console, client.get_decommission(args.device_id))
    if not isinstance(status, ExitCode) and status.leftovers:
        console.print("[red]not undone:[/] " + "; ".join(status.leftovers))
    return for_state(state)
