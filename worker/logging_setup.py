"""Logging of devprov's processes."""

from __future__ import annotations

import logging


def configure_logging(level: int = logging.INFO) -> None:
    """Plain one-line logs; expected device failures are logged once, without traceback.

    The SDK logs every failed activity attempt with its traceback at WARNING; devprov's
    error boundary already logs adapter failures in one line (and unexpected ones with
    their traceback), so the SDK's activity logger is limited to errors.
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
