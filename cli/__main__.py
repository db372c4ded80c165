"""`devprov` command line: provision devices, find and replay runs, retry failed ones.

Installer commands (through the HTTP API: `$DEVPROV_API_URL`, `$DEVPROV_API_KEY`):

    devprov provision <device-id> --request FILE [--follow] [--credentials FILE]
                      [--os-network] [--no-input] [--retry N]
    devprov scan [--timeout S] [--ble-backend B] [--json]
    devprov runs show <device-id> [--json]
    devprov cancel <device-id>
    devprov devices list [--state S] [--strategy X] [--vendor V] [--site S] [--network N]
                         [--tenant T] [--limit N] [--cursor C] [--all] [--json]
    devprov devices show <device-id> [--json]
    devprov devices decommission <device-id> [--follow]
    devprov enrollments list|add|import|show|disable|enable|delete [--group] ...
    devprov webhooks create|list|show|delete|deliveries|redeliver ...

Operator commands (straight to Temporal at `$DEVPROV_TEMPORAL_ADDRESS`, default
127.0.0.1:7233):

    devprov runs list [--state S] [--strategy X] [--error-code C] [--site S] [--running]
    devprov replay <workflow-id> [--run-id R]
    devprov replay --dir tests/histories
    devprov history export <workflow-id> [--out FILE]
    devprov retry <device-id>

Exit statuses: see `cli.exit_codes.ExitCode` (0 succeeded, 4 rolled back, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from rich.console import Console

from cli.devices import add_devices_commands
from cli.enrollments import add_enrollments_commands
from cli.hooks import add_hook_commands
from cli.provisioning import add_commands, add_runs_show
from cli.replay import fetch_history, load_history_dir, replay_histories
from cli.webhooks import add_webhooks_commands
from config.policies import load_policy_book
from config.settings import Settings
from connection.codec import data_converter, load_key_ring
from connection.temporal_client import connect, key_file
from domain.api_models import StartedRun
from domain.run import CENTRAL_TASK_QUEUE
from domain.states import VisibleState
from services.errors import ServiceError
from services.run_listing import RunFilter, list_runs
from services.runs import ProvisioningRuns
from strategies.catalog import build_registry


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devprov", description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)

    runs = commands.add_parser("runs", help="find provisioning runs")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True)
    listing = runs_commands.add_parser("list", help="list runs, newest first")
    listing.add_argument(
        "--state",
        choices=[state.value for state in VisibleState],
        help="as visibility records it: IN_PROGRESS while a run moves on its own",
    )
    listing.add_argument("--strategy")
    listing.add_argument("--error-code")
    listing.add_argument("--site")
    listing.add_argument("--device")
    listing.add_argument("--fleet")
    listing.add_argument("--running", action="store_true", help="only runs not finished")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    add_runs_show(runs_commands)

    replay = commands.add_parser("replay", help="replay histories against this code")
    replay.add_argument("workflow_id", nargs="?")
    replay.add_argument("--run-id")
    replay.add_argument("--dir", type=Path, help="replay every <id>.json history in DIR")

    history = commands.add_parser("history", help="workflow histories")
    history_commands = history.add_subparsers(dest="history_command", required=True)
    export = history_commands.add_parser("export", help="save a run's history as JSON")
    export.add_argument("workflow_id")
    export.add_argument("--run-id")
    export.add_argument("--out", type=Path, help="file (default: <workflow-id>.json)")

    retry = commands.add_parser("retry", help="start a fresh run for a failed device")
    retry.add_argument("device_id")
    add_commands(commands)
    add_devices_commands(commands)
    add_enrollments_commands(commands)
    add_webhooks_commands(commands)
    add_hook_commands(commands)
    return parser


async def _runs_list(args: argparse.Namespace, settings: Settings) -> int:
    client = await connect(settings, sdk_metrics=False)
    run_filter = RunFilter(
        state=VisibleState(args.state) if args.state else None,
        strategy=args.strategy,
        error_code=args.error_code,
        site=args.site,
        device_id=args.device,
        fleet_id=args.fleet,
        running=args.running,
    )
    rows = await list_runs(client, run_filter, args.limit)
    if args.json:
        for row in rows:
            print(row.model_dump_json(exclude={"links"}))
        return 0
    header = (
        f"{'WORKFLOW ID':40} {'STATE':20} {'STRATEGY':12} {'SITE':10} {'ERROR CODE':24} STARTED"
    )
    print(header)
    for row in rows:
        state = row.state.value if row.state else ""
        print(
            f"{row.workflow_id:40} {state:20} {row.strategy:12} {row.site:10} "
            f"{row.error_code or '':24} {row.started_at:%Y-%m-%d %H:%M:%S}"
        )
    print(f"({len(rows)} runs; query: {run_filter.query()})", file=sys.stderr)
    return 0


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    if args.dir is not None:
        histories = load_history_dir(args.dir)
        if not histories:
            print(f"no <workflow-id>.json histories in {args.dir}", file=sys.stderr)
            return 2
    elif args.workflow_id:
        client = await connect(settings, sdk_metrics=False)
        history = await fetch_history(client, args.workflow_id, args.run_id)
        histories = [(history, f"server run of {args.workflow_id}")]
    else:
        print("give a workflow id or --dir", file=sys.stderr)
        return 2
    converter = data_converter(load_key_ring(settings.codec, default_file=key_file(settings)))
    outcomes = await replay_histories(histories, converter=converter)
    for outcome in outcomes:
        verdict = "ok" if outcome.ok else f"FAILED — {outcome.error}"
        print(f"{outcome.workflow_id} ({outcome.source}): {verdict}")
    failed = sum(1 for o in outcomes if not o.ok)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    client = await connect(settings, sdk_metrics=False)
    history = await fetch_history(client, args.workflow_id, args.run_id)
    out = args.out or Path(f"{args.workflow_id}.json")
    out.write_text(history.to_json())
    print(f"wrote {len(history.events)} events to {out}")
    return 0


async def _retry(args: argparse.Namespace, settings: Settings) -> int:
    client = await connect(settings, sdk_metrics=False)
    runs = ProvisioningRuns(
        client,
        build_registry(
            default=settings.selection.default_strategy,
            disabled=settings.selection.disabled_strategies,
        ),
        load_policy_book(),
        CENTRAL_TASK_QUEUE,
    )
    try:
        outcome = await runs.retry(args.device_id, started_by="cli")
    except ServiceError as problem:
        print(f"{problem.code}: {problem.detail}", file=sys.stderr)
        return 1
    if isinstance(outcome, StartedRun):
        print(f"started run {outcome.run_id} of {outcome.workflow_id}")
    else:
        print(f"the waiting run of {outcome.workflow_id} starts over (attempt {outcome.attempt})")
    return 0


async def run(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if hasattr(args, "handler"):
        return int(await args.handler(args, Console(stderr=True)))
    settings = Settings.from_env()
    if args.command == "runs":
        return await _runs_list(args, settings)
    if args.command == "replay":
        return await _replay(args, settings)
    if args.command == "history":
        return await _export(args, settings)
    return await _retry(args, settings)


def main() -> None:
    """Entry point of the `devprov` script."""
    code = asyncio.run(run())
    # The Temporal client's Rust threads can abort CPython's finalization ("Fatal Python
    # error: PyGILState_Release", temporalio/sdk-python#300): leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
