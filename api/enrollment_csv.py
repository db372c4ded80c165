"""Individual enrollments sent as CSV (`Content-Type: text/csv`): one device a line.

The first line names the columns (any order, case-insensitive): `device_id` (required),
`serial`, `mac`, `vendor`, `model`, `claim_secret`, `enabled` (`true`/`false`, `1`/`0`,
`yes`/`no`; empty: true). An empty cell leaves the field out. An error names its line
as a spreadsheet does (the header is line 1): `loc` is `["body", <line>, <column>]`;
a value is never echoed (a claim secret could be in it).
"""

from __future__ import annotations

import csv
import io

from pydantic import ValidationError

from api.bodies import field_errors, invalid
from api.problems import ApiError
from domain.api_models import FieldError
from domain.enrollments import IndividualEnrollmentCreate

COLUMNS = ("device_id", "serial", "mac", "vendor", "model", "claim_secret", "enabled")
MAX_LINES = 1000
"""Devices a request may enroll (a claim secret costs tens of milliseconds to hash)."""
MAX_ERRORS = 20
_TRUE = {"", "true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def parse_enrollment_csv(raw: bytes) -> list[IndividualEnrollmentCreate]:
    """The individual enrollments `raw` lists.

    Raises:
        ApiError: 422 INVALID_REQUEST naming the lines (at most 20 errors).
    """
    try:
        text = raw.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except UnicodeDecodeError:
        raise _refused([_error(["body"], "the CSV is not UTF-8 text", "csv_encoding")]) from None
    except csv.Error as error:
        raise _refused(
            [_error(["body"], f"the CSV does not parse: {error}", "csv_syntax")]
        ) from None
    lines = [(n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not lines:
        raise _refused(
            [_error(["body"], "the CSV is empty: a header, then a device a line", "csv_empty")]
        )
    (_, header), devices = lines[0], lines[1:]
    columns = [name.strip().lower() for name in header]
    errors = [
        _error(["body", 1, name[:40]], f"unknown column '{name[:40]}'", "csv_unknown_column")
        for name in columns
        if name not in COLUMNS
    ]
    if "device_id" not in columns:
        errors.append(
            _error(["body", 1, "device_id"], "the 'device_id' column is missing", "missing")
        )
    errors += [
        _error(["body", 1, name], "the column appears twice", "csv_duplicate_column")
        for name in sorted({name for name in columns if columns.count(name) > 1})
    ]
    if errors:
        raise _refused(errors)
    if len(devices) > MAX_LINES:
        raise _refused([_error(["body"], f"at most {MAX_LINES} devices a request", "too_long")])
    enrollments: list[IndividualEnrollmentCreate] = []
    seen: dict[str, int] = {}
    for number, row in devices:
        if len(errors) >= MAX_ERRORS:
            break
        if len(row) != len(columns):
            message = f"{len(row)} fields, the header has {len(columns)}"
            errors.append(_error(["body", number], message, "csv_field_count"))
            continue
        values = {name: value.strip() for name, value in zip(columns, row, strict=True)}
        enabled = values.pop("enabled", "").lower()
        if enabled not in _TRUE | _FALSE:
            message = "enabled is true or false (or 1/0, yes/no)"
            errors.append(_error(["body", number, "enabled"], message, "bool_parsing"))
            continue
        fields = {name: value for name, value in values.items() if value}
        try:
            enrollment = IndividualEnrollmentCreate.model_validate(
                {**fields, "enabled": enabled in _TRUE}
            )
        except ValidationError as error:
            errors += [
                FieldError(loc=["body", number, *e.loc], msg=e.msg, type=e.type)
                for e in field_errors(error)
            ]
            continue
        if enrollment.device_id in seen:
            message = f"the device is on line {seen[enrollment.device_id]} already"
            errors.append(_error(["body", number, "device_id"], message, "csv_duplicate_device"))
            continue
        seen[enrollment.device_id] = number
        enrollments.append(enrollment)
    if errors:
        raise _refused(errors)
    return enrollments


def _error(loc: list[str | int], msg: str, kind: str) -> FieldError:
    return FieldError(loc=loc, msg=msg, type=kind)


def _refused(errors: list[FieldError]) -> ApiError:
    return invalid(
        errors[:MAX_ERRORS], detail="the CSV of enrollments is invalid; nothing was imported"
    )
