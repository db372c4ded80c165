"""The audit trail costs nothing while it is off, and writes every record when on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from temporalio.api.common.v1 import Payload

from worker.observability import AUDIT_HEADER, AUDIT_LOGGER, _tag_of, write_audit


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


def test_an_activity_reads_its_runs_tag_as_workers_old_and_new_wrote_it() -> None:
    tag = {"device_id": "shelly-1", "strategy": "http-wifi", "stage": "detect"}
    json_plain = {"encoding": b"json/plain"}
    new = Payload(metadata=json_plain, data=json.dumps(tag).encode())
    # Workers before 2026-12-06 put the tag through the payload converter: a JSON string.
    old = Payload(metadata=json_plain, data=json.dumps(json.dumps(tag)).encode())

    assert _tag_of({AUDIT_HEADER: new}) == tag
    assert _tag_of({AUDIT_HEADER: old}) == tag
    assert _tag_of({}) == {}
    assert _tag_of({AUDIT_HEADER: Payload(metadata=json_plain, data=b"[1]")}) == {}
