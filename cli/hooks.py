"""`devprov hook get|set|clear` (also `devprov pre-provisioning-hook …`): the tenant's
pre-provisioning hook, through the API."""

from __future__ import annotations

import argparse

from rich.console import Console

from cli.exit_codes import ExitCode
from cli.options import api_option
from cli.provisioning import api_call, api_client

HOOK_SECRET_NOTE = (
    "keep the secret now: it is never shown again (the hook verifies devprov's calls with it)"
)


def add_hook_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`devprov hook ...` (see the module's docstring)."""
    api = api_option()
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="as JSON")
    hook = commands.add_parser(
        "hook",
        aliases=["pre-provisioning-hook"],
        help="the tenant's pre-provisioning hook (via the API)",
    )
    subcommands = hook.add_subparsers(dest="hook_command", required=True)
    subcommands.add_parser(
        "get", parents=[api, as_json], help="the hook (never its secret)"
    ).set_defaults(handler=get_hook)
    put = subcommands.add_parser(
        "set",
        parents=[api, as_json],
        help="set the hook (admin keys); prints its new signing secret once",
    )
    put.add_argument("url", help="https URL that PRE_CHECK asks")
    put.set_defaults(handler=set_hook)
    subcommands.add_parser(
        "clear", parents=[api], help="remove the hook: runs ask none any more"
    ).set_defaults(handler=clear_hook)


async def get_hook(args: argparse.Namespace, console: Console) -> int:
    async with api_client(args) as client:
        hook = await api_call(console, client.get_pre_provisioning_hook())
    if isinstance(hook, ExitCode):
        return hook
    if args.json:
        print(hook.model_dump_json())
    else:
        for name, value in hook.model_dump(mode="json").items():
            console.print(f"{name:12} {value}", soft_wrap=True)
    return ExitCode.OK


async def set_hook(args: argparse.Namespace, console: Console) -> int:
    """Set the hook and print it with its secret (the only time it is shown)."""
    async with api_client(args) as client:
        hook = await api_call(console, client.put_pre_provisioning_hook(args.url))
    if isinstance(hook, ExitCode):
        return hook
    if args.json:
        print(hook.model_dump_json())
        return ExitCode.OK
    for name, value in hook.model_dump(mode="json").items():
        console.print(f"{name:12} {value}", soft_wrap=True)
    console.print(f"[yellow]{HOOK_SECRET_NOTE}[/]")
    return ExitCode.OK


async def clear_hook(args: argparse.Namespace, console: Console) -> int:
    async with api_client(args) as client:
        cleared = await api_call(console, client.delete_pre_provisioning_hook())
    if isinstance(cleared, ExitCode):
        return cleared
    console.print("pre-provisioning hook removed")
    return ExitCode.OK
