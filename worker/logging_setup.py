"""Logging of devprov's processes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from worker.observability import AUDIT_LOGGER


def configure_logging(level: int = logging.INFO, audit_log: Path | None = None) -> None:
    """Plain one-line logs, and the audit trail as bare JSON lines.

    The audit records (`devprov.audit`) go to `audit_log` (`$DEVPROV_AUDIT_LOG`, or the
    embedded stack's file) when set, else to standard output: one JSON object per line
    with nothing around it, as log shippers take them.

    Expected device failures are logged once, without traceback: the SDK logs every
    failed activity attempt with its traceback at WARNING, and devprov's error
    boundary already logs adapter failures in one line (unexpected ones with their
    traceback), so the SDK's activity logger is limited to errors.
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    audit = logging.getLogger(AUDIT_LOGGER)
    audit.setLevel(logging.INFO)
    audit.propagate = False
    path = audit_log
    handler = logging.FileHandler(path) if path else logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    audit.addHandler(handler)
