"""`devprov webhooks create|list|show|update|disable|enable|rotate-secret|delete|
deliveries|redeliver`: the tenant's webhook subscriptions and their delivery logs,
through the API."""

from __future__ import annotations

import argparse

from pydantic import BaseModel
from rich.console import Console

from cli.exit_codes import ExitCode
from cli.options import api_option
from cli.provisioning import api_call, api_client
from domain.webhooks import EventType

SECRET_NOTE = "keep the secret now: it is never shown again (verify signatures with it)"


def add_webhooks_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """`devprov webhooks ...` (see the module's docstring)."""
    api = api_option()
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="as JSON")
    webhooks = commands.add_parser("webhooks", help="the tenant's webhooks (via the API)")
    subcommands = webhooks.add_subparsers(dest="webhooks_command", required=True)

    create = subcommands.add_parser(
        "create", parents=[api, as_json], help="subscribe a URL to event types"
    )
    create.add_argument("url")
    create.add_argument(
        "--event",
        dest="events",
        action="append",
        choices=[e.value for e in EventType],
        help="an event type (repeat; default: run.succeeded and run.failed)",
    )
    create.add_argument("--description", default="")
    create.set_defaults(handler=create_webhook)

    subcommands.add_parser("list", parents=[api, as_json], help="the webhooks").set_defaults(
        handler=list_webhooks
    )
    show = subcommands.add_parser("show", parents=[api, as_json], help="one webhook")
    show.add_argument("webhook_id")
    show.set_defaults(handler=show_webhook)
    update = subcommands.add_parser(
        "update", parents=[api, as_json], help="change a webhook's events or description"
    )
    update.add_argument("webhook_id")
    update.add_argument(
        "--event",
        dest="events",
        action="append",
        choices=[e.value for e in EventType],
        help="an event type (repeat; replaces its events)",
    )
    update.add_argument("--description")
    update.set_defaults(handler=update_webhook)
    for name, text in (
        ("disable", "stop sending a webhook events (they wait until it is enabled)"),
        ("enable", "send a webhook events again, the ones that waited first"),
    ):
        switch = subcommands.add_parser(name, parents=[api, as_json], help=text)
        switch.add_argument("webhook_id")
        switch.set_defaults(handler=switch_webhook, enabled=name == "enable")
    rotate = subcommands.add_parser(
        "rotate-secret",
        parents=[api, as_json],
        help="give a webhook a new signing secret (the old one signs too for a grace period)",
    )
    rotate.add_argument("webhook_id")
    rotate.add_argument(
        "--grace",
        type=int,
        metavar="SECONDS",
        help="how long the old secret signs too (default: the API's, 24 h; 0: not at all)",
    )
    rotate.set_defaults(handler=rotate_secret)
    delete = subcommands.add_parser("delete", parents=[api], help="delete a webhook")
    delete.add_argument("webhook_id")
    delete.set_defaults(handler=delete_webhook)

    deliveries = subcommands.add_parser(
        "deliveries", parents=[api, as_json], help="a webhook's delivery log, newest first"
    )
    deliveries.add_argument("webhook_id")
    deliveries.add_argument("--limit", type=int, default=50, help="per page (1-500)")
    deliveries.add_argument("--cursor", help="the previous page's next cursor")
    deliveries.set_defaults(handler=list_deliveries)

    redeliver = subcommands.add_parser(
        "redeliver", parents=[api], help="send an event again now (a dead one too)"
    )
    redeliver.add_argument("webhook_id")
    redeliver.add_argument("event_id")
    redeliver.set_defaults(handler=redeliver_event)


def _print(console: Console, model: BaseModel, as_json: bool) -> None:
    if as_json:
        print(model.model_dump_json())
        return
    for name, value in model.model_dump(mode="json").items():
        if value is not None:
            console.print(f"{name:20} {value}")


async def create_webhook(args: argparse.Namespace, console: Console) -> int:
    """Create a webhook and print it with its secret (the only time it is shown)."""
    events = [EventType(e) for e in args.events or ("run.succeeded", "run.failed")]
    async with api_client(args) as client:
        created = await api_call(
            console, client.create_webhook(args.url, events, description=args.description)
        )
    if isinstance(created, ExitCode):
        return created
    _print(console, created, args.json)
    if not args.json:
        console.print(f"[yellow]{SECRET_NOTE}[/]")
    return ExitCode.OK


async def list_webhooks(args: argparse.Namespace, console: Console) -> int:
    async with api_client(args) as client:
        listing = await api_call(console, client.list_webhooks())
    if isinstance(listing, ExitCode):
        return listing
    for webhook in listing.items:
        if args.json:
            print(webhook.model_dump_json())
        else:
            events = ",".join(e.value for e in webhook.events)
            console.print(f"{webhook.id}  {webhook.url}  {events}", soft_wrap=True)
    return ExitCode.OK


async def show_webhook(args: argparse.Namespace, console: Console) -> int:
    async with api_client(args) as client:
        webhook = await api_call(console, client.get_webhook(args.webhook_id))
    if isinstance(webhook, ExitCode):
        return webhook
    _print(console, webhook, args.json)
    return ExitCode.OK


async def update_webhook(args: argparse.Namespace, console: Console) -> int:
    """Change the events or the description given."""
    events = [EventType(e) for e in args.events] if args.events else None
    if events is None and args.description is None:
        console.print("[red]name --event or --description to change[/]")
        return ExitCode.USAGE
    async with api_client(args) as client:
        webhook = await api_call(
            console,
            client.update_webhook(args.webhook_id, events=events, description=args.description),
        )
    if isinstance(webhook, ExitCode):
        return webhook
    _print(console, webhook, args.json)
    return ExitCode.OK


async def switch_webhook(args: argparse.Namespace, console: Console) -> int:
    """Disable or enable a webhook (`args.enabled`)."""
    async with api_client(args) as client:
        webhook = await api_call(
            console, client.update_webhook(args.webhook_id, enabled=args.enabled)
        )
    if isinstance(webhook, ExitCode):
        return webhook
    if args.json:
        print(webhook.model_dump_json())
    else:
        console.print(f"{webhook.id} {'enabled' if webhook.enabled else 'disabled'}")
    return ExitCode.OK


async def rotate_secret(args: argparse.Namespace, console: Console) -> int:
    """Rotate the secret and print the new one (the only time it is shown)."""
    async with api_client(args) as client:
        rotated = await api_call(
            console, client.rotate_webhook_secret(args.webhook_id, grace_seconds=args.grace)
        )
    if isinstance(rotated, ExitCode):
        return rotated
    _print(console, rotated, args.json)
    if not args.json:
        console.print(f"[yellow]{SECRET_NOTE}[/]")
        expires = rotated.previous_secret_expires_at
        console.print(
            f"the old secret signs too until {expires.isoformat()}"
            if expires is not None
            else "the old secret signs no more"
        )
    return ExitCode.OK


async def delete_webhook(args: argparse.Namespace, console: Console) -> int:
    async with api_client(args) as client:
        deleted = await api_call(console, client.delete_webhook(args.webhook_id))
    if isinstance(deleted, ExitCode):
        return deleted
    console.print(f"deleted {args.webhook_id}")
    return ExitCode.OK


async def list_deliveries(args: argparse.Namespace, console: Console) -> int:
    """Print the delivery log: event, type, status, tries, last answer, next try."""
    async with api_client(args) as client:
        page = await api_call(
            console,
            client.list_webhook_deliveries(args.webhook_id, cursor=args.cursor, limit=args.limit),
        )
    if isinstance(page, ExitCode):
        return page
    for delivery in page.items:
        if args.json:
            print(delivery.model_dump_json())
            continue
        answer = delivery.last_status_code or delivery.last_error or "-"
        next_try = delivery.next_try_at.isoformat() if delivery.next_try_at else ""
        console.print(
            f"{delivery.event_id}  {delivery.type.value:22} {delivery.status.value:9} "
            f"tries {delivery.attempts}  last {answer}  {next_try}",
            soft_wrap=True,
        )
    if page.next_cursor is not None:
        console.print(f"more: --cursor {page.next_cursor}")
    return ExitCode.OK


async def redeliver_event(args: argparse.Namespace, console: Console) -> int:
    async with api_client(args) as client:
        delivery = await api_call(
            console, client.redeliver_webhook_event(args.webhook_id, args.event_id)
        )
    if isinstance(delivery, ExitCode):
        return delivery
    console.print(f"{delivery.event_id} queued for delivery")
    return ExitCode.OK
