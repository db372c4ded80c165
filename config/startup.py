"""How a devprov process refuses a configuration: one line on stderr, exit status 2."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

EXIT_BAD_CONFIGURATION = 2
"""Exit status of a process that refused its configuration (as `sysexits`' usage)."""


class ConfigurationError(ValueError):
    """A setting stops the process from starting; its message names the variable and
    says what to do, and never holds the secret it refused."""


def one_line(error: BaseException) -> str:
    """The error's message on one line."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def run_service(main: Callable[[], Coroutine[Any, Any, int | None]]) -> NoReturn:
    """`asyncio.run(main())`, exiting with its status, or with status 2 and one line
    on stderr when the configuration is refused."""
    try:
        status = asyncio.run(main())
    except ConfigurationError as error:
        print(f"devprov: {one_line(error)}", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_CONFIGURATION)
    sys.exit(status or 0)


__all__ = ["EXIT_BAD_CONFIGURATION", "ConfigurationError", "one_line", "run_service"]
