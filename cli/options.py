"""Options shared by the CLI's API-backed commands."""

from __future__ import annotations

import argparse

from client.settings import ClientSettings


def api_option() -> argparse.ArgumentParser:
    """A parent parser with `--api` (the API's origin), for `parents=[...]`."""
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument(
        "--api",
        default=ClientSettings.from_env().url,
        help="API origin (default: $DEVPROV_API_URL or http://127.0.0.1:8080)",
    )
    return api
