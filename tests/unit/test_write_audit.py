"""The audit trail costs nothing while it is off, and writes every record when on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from worker.observability import AUDIT_LOGGER, write_audit


class Unprintable:
    def __str__(self) -> str:
        raise AssertionError("an audit record was built while the audit log is off")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def audit() -> Iterator[tuple[logging.Logger, Lines]]:
    logger = logging.getLogger(AUDIT_LOGGER)
    level, propagate = logger.level, logger.propagate
    lines = Lines()
    logger.addHandler(lines)
    logger.propagate = False
    yield logger, lines
    logger.removeHandler(lines)
    logger.setLevel(level)
    logger.propagate = propagate


def test_nothing_is_built_while_the_audit_log_is_off(
    audit: tuple[logging.Logger, Lines],
) -> None:
    logger, lines = audit
    logger.setLevel(logging.WARNING)

    write_audit({"kind": "stage", "device_id": Unprintable()})

    assert lines.lines == []


def test_every_record_is_one_json_line_with_its_time_when_on(
    audit: tuple[logging.Logger, Lines],
) -> None:
    logger, lines = audit
    logger.setLevel(logging.INFO)

    write_audit({"kind": "state", "state": "SUCCEEDED"})

    [line] = lines.lines
    record = json.loads(line)
    assert record["kind"] == "state"
    assert record["state"] == "SUCCEEDED"
    assert record["ts"].endswith("+00:00")
