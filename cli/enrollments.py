"""`devprov enrollments list|add|import|show|disable|delete`: the tenant's allow-list of
devices (individual enrollments, or group enrollments with `--group`), through the API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import BaseModel, ValidationError
from rich.console import Console

from cli.exit_codes import ExitCode
from cli.options import api_option
from cli.provisioning import api_call, api_client
from domain.enrollments import (
    GroupEnrollmentCreate,
    GroupEnrollmentList,
    GroupEnrollmentPatch,
    IndividualEnrollmentCreate,
    IndividualEnrollmentList,
    IndividualEnrollmentPatch,
)


def add_enrollments_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """`devprov enrollments ...` (see the module's docstring)."""
    api = api_option()
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--group", action="store_true", help="a group enrollment")
    enrollments = commands.add_parser("enrollments", help="the tenant's enrollments (via the API)")
    subcommands = enrollments.add_subparsers(dest="enrollments_command", required=True)

    listing = subcommands.add_parser("list", parents=[api, group], help="enrollments, by id")
    listing.add_argument("--limit", type=int, default=100, help="per page (1-1000)")
    listing.add_argument("--cursor", help="start after this page's cursor")
    listing.add_argument("--all", action="store_true", help="every page, not only the first")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=list_enrollments)

    add = subcommands.add_parser(
        "add", parents=[api, group], help="enroll a device (or a group of devices)"
    )
    add.add_argument("id", help="the device id (with --group: the group's id)")
    add.add_argument("--vendor")
    add.add_argument("--model")
    add.add_argument("--serial", help="individual: the device's serial number")
    add.add_argument("--mac", help="individual: the device's MAC address")
    add.add_argument(
        "--claim-secret-stdin",
        action="store_true",
        help="individual: read a claim secret from stdin (never from the command line)",
    )
    add.add_argument("--glob", help="group: an fnmatch-style glob of device ids")
    add.add_argument("--site", help="group: the site of the runs it admits")
    add.add_argument("--strategy", help="group: the strategy of the runs it admits")
    add.add_argument("--priority", type=int, help="group: lower first (default 100)")
    add.add_argument("--disabled", action="store_true", help="add it disabled")
    add.set_defaults(handler=add_enrollment)

    importing = subcommands.add_parser(
        "import", parents=[api], help="create or replace individual enrollments from a CSV file"
    )
    importing.add_argument("file", type=Path)
    importing.set_defaults(handler=import_enrollments)

    for name, handler, text in (
        ("show", show_enrollment, "one enrollment"),
        ("disable", disable_enrollment, "disable an enrollment"),
        ("enable", enable_enrollment, "enable an enrollment"),
        ("delete", delete_enrollment, "remove an enrollment"),
    ):
        command = subcommands.add_parser(name, parents=[api, group], help=text)
        command.add_argument("id", help="the device id (with --group: the group's id)")
        if name == "show":
            command.add_argument("--json", action="store_true", help="as JSON")
        command.set_defaults(handler=handler)


def _print(console: Console, model: BaseModel, as_json: bool = False) -> None:
    if as_json:
        print(model.model_dump_json())
        return
    for name, value in model.model_dump(mode="json").items():
        if value is not None:
            console.print(f"{name:20} {value}")


def _invalid(console: Console, error: ValidationError) -> int:
    for item in error.errors(include_input=False, include_url=False):
        console.print(f"[red]{'.'.join(map(str, item['loc']))}[/]: {item['msg']}")
    return ExitCode.REFUSED


async def list_enrollments(args: argparse.Namespace, console: Console) -> int:
    """Print the tenant's enrollments; the next page's cursor when there is one."""
    items: list[BaseModel] = []
    cursor = args.cursor
    async with api_client(args) as client:
        while True:
            page: GroupEnrollmentList | IndividualEnrollmentList | ExitCode
            if args.group:
                page = await api_call(
                    console, client.list_group_enrollments(cursor=cursor, limit=args.limit)
                )
            else:
                page = await api_call(
                    console, client.list_individual_enrollments(cursor=cursor, limit=args.limit)
                )
            if isinstance(page, ExitCode):
                return page
            items += page.items
            cursor = page.next_cursor
            if cursor is None or not args.all:
                break
    for item in items:
        if args.json:
            print(item.model_dump_json())
        else:
            values = item.model_dump(mode="json")
            enabled = "enabled " if values["enabled"] else "disabled"
            name = values.get("group_id") or values.get("device_id")
            console.print(f"{name:40} {enabled}")
    if cursor is not None:
        console.print(f"more: --cursor {cursor}")
    return ExitCode.OK


async def add_enrollment(args: argparse.Namespace, console: Console) -> int:
    """Enroll a device, or add a group."""
    try:
        if args.group:
            defaults = {
                name: value
                for name, value in (("site", args.site), ("strategy", args.strategy))
                if value
            }
            group = GroupEnrollmentCreate.model_validate(
                {
                    "group_id": args.id,
                    "vendor": args.vendor,
                    "model": args.model,
                    "device_id_glob": args.glob,
                    "priority": args.priority,
                    "defaults": defaults or None,
                    "enabled": not args.disabled,
                }
            )
        else:
            secret = sys.stdin.readline().rstrip("\n") if args.claim_secret_stdin else None
            individual = IndividualEnrollmentCreate.model_validate(
                {
                    "device_id": args.id,
                    "vendor": args.vendor,
                    "model": args.model,
                    "serial": args.serial,
                    "mac": args.mac,
                    "claim_secret": secret,
                    "enabled": not args.disabled,
                }
            )
    except ValidationError as error:
        return _invalid(console, error)
    async with api_client(args) as client:
        call = (
            client.add_group_enrollment(group)
            if args.group
            else client.add_individual_enrollment(individual)
        )
        created = await api_call(console, call)
    if isinstance(created, ExitCode):
        return created
    _print(console, created)
    return ExitCode.OK


async def import_enrollments(args: argparse.Namespace, console: Console) -> int:
    """Import a CSV file of individual enrollments (all lines or none)."""
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        console.print(f"[red]cannot read {args.file}[/]: {error}")
        return ExitCode.REFUSED
    async with api_client(args) as client:
        imported = await api_call(console, client.import_individual_enrollments(text))
    if isinstance(imported, ExitCode):
        return imported
    console.print(f"imported {imported.imported} enrollments")
    return ExitCode.OK


async def show_enrollment(args: argparse.Namespace, console: Console) -> int:
    """Print one enrollment."""
    async with api_client(args) as client:
        call = (
            client.get_group_enrollment(args.id)
            if args.group
            else client.get_individual_enrollment(args.id)
        )
        shown = await api_call(console, call)
    if isinstance(shown, ExitCode):
        return shown
    _print(console, shown, args.json)
    return ExitCode.OK


async def _set_enabled(args: argparse.Namespace, console: Console, enabled: bool) -> int:
    async with api_client(args) as client:
        call = (
            client.update_group_enrollment(args.id, GroupEnrollmentPatch(enabled=enabled))
            if args.group
            else client.update_individual_enrollment(
                args.id, IndividualEnrollmentPatch(enabled=enabled)
            )
        )
        changed = await api_call(console, call)
    if isinstance(changed, ExitCode):
        return changed
    _print(console, changed)
    return ExitCode.OK


async def disable_enrollment(args: argparse.Namespace, console: Console) -> int:
    """Disable an enrollment: the devices it admitted are refused from now on."""
    return await _set_enabled(args, console, False)


async def enable_enrollment(args: argparse.Namespace, console: Console) -> int:
    """Enable an enrollment again."""
    return await _set_enabled(args, console, True)


async def delete_enrollment(args: argparse.Namespace, console: Console) -> int:
    """Remove an enrollment."""
    async with api_client(args) as client:
        call = (
            client.delete_group_enrollment(args.id)
            if args.group
            else client.delete_individual_enrollment(args.id)
        )
        deleted = await api_call(console, call)
    if isinstance(deleted, ExitCode):
        return deleted
    console.print(f"deleted {'group' if args.group else 'individual'} enrollment {args.id}")
    return ExitCode.OK
