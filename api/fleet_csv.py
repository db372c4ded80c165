"""A fleet sent as CSV (`Content-Type: text/csv`): one device a line.

The first line names the columns (any order, case-insensitive); each following line is
a device. `device_id` is required. The fleet's template — `type`, `vendor`,
`capabilities` (separated by spaces or `;`) — and its `ssid`, `passphrase` and
`strategy` are the same on every line that gives them. `model`, `site`, `address` and
`ieee` (and any `hint.<name>`, a transport hint of that name) are the device's own. The
fleet's limits are the defaults (send JSON to set them). An error names its line as a
spreadsheet does (the header is line 1): `loc` is `["body", <line>, <column>]`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from api.bodies import field_errors, invalid
from api.problems import ApiError
from domain.api_models import FieldError
from domain.fleet import MAX_FLEET_DEVICES, FleetRequest

CSV_CONTENT_TYPE = "text/csv"
SHARED_COLUMNS = ("type", "vendor", "capabilities", "ssid", "passphrase", "strategy")
DEVICE_COLUMNS = ("device_id", "model", "site", "address", "ieee")
HINT_PREFIX = "hint."
MAX_ERRORS = 20
_SEPARATORS = re.compile(r"[\s;]+")


def parse_fleet_csv(raw: bytes) -> FleetRequest:
    """The fleet request `raw` describes.

    Raises:
        ApiError: 422 INVALID_REQUEST naming the lines (at most 20 errors) for a body
            that is not UTF-8 CSV or whose lines do not describe a fleet.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refused([_error(["body"], "the CSV is not UTF-8 text", "csv_encoding")]) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise _refused(
            [_error(["body"], f"the CSV does not parse: {error}", "csv_syntax")]
        ) from None
    lines = [
        (number, row) for number, row in enumerate(rows, start=1) if any(c.strip() for c in row)
    ]
    if not lines:
        raise _refused(
            [_error(["body"], "the CSV is empty: a header line, then a device a line", "csv_empty")]
        )
    (_, header), devices = lines[0], lines[1:]
    columns = [name.strip().lower() for name in header]
    errors = _header_errors(columns)
    if errors:
        raise _refused(errors)
    if len(devices) > MAX_FLEET_DEVICES:
        raise _refused(
            [_error(["body"], f"at most {MAX_FLEET_DEVICES} devices a fleet", "too_long")]
        )
    body, line_of_device, errors = _fleet_body(columns, devices)
    if errors:
        raise _refused(errors)
    try:
        return FleetRequest.model_validate(body)
    except ValidationError as error:
        raise _refused([_on_lines(e, line_of_device) for e in field_errors(error)]) from None


def _header_errors(columns: list[str]) -> list[FieldError]:
    known = {*SHARED_COLUMNS, *DEVICE_COLUMNS}
    errors = [
        _error(["body", 1, name], f"unknown column '{name[:40]}'", "csv_unknown_column")
        for name in columns
        if name not in known and not (name.startswith(HINT_PREFIX) and len(name) > len(HINT_PREFIX))
    ]
    for required in ("device_id", "type", "vendor"):
        if required not in columns:
            errors.append(
                _error(["body", 1, required], f"the '{required}' column is missing", "missing")
            )
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    errors += [
        _error(["body", 1, name], "the column appears twice", "csv_duplicate_column")
        for name in duplicates
    ]
    return errors[:MAX_ERRORS]


def _fleet_body(
    columns: list[str], devices: list[tuple[int, list[str]]]
) -> tuple[dict[str, Any], list[int], list[FieldError]]:
    shared: dict[str, tuple[str, int]] = {}
    errors: list[FieldError] = []
    members: list[dict[str, Any]] = []
    for number, row in devices:
        if len(row) != len(columns):
            errors.append(
                _error(
                    ["body", number],
                    f"{len(row)} fields, the header has {len(columns)}",
                    "csv_field_count",
                )
            )
            continue
        values = {name: value.strip() for name, value in zip(columns, row, strict=True)}
        for name in SHARED_COLUMNS:
            value = values.get(name, "")
            if not value:
                continue
            if name not in shared:
                shared[name] = (value, number)
            elif shared[name][0] != value:
                errors.append(
                    _error(
                        ["body", number, name],
                        f"differs from line {shared[name][1]}: a fleet has one {name}",
                        "csv_not_shared",
                    )
                )
        members.append(_member(values))
        if len(errors) >= MAX_ERRORS:
            break
    body: dict[str, Any] = {
        "template": {
            "type": shared.get("type", ("", 0))[0],
            "vendor": shared.get("vendor", ("", 0))[0],
            "capabilities": sorted(
                set(_SEPARATORS.split(shared.get("capabilities", ("", 0))[0])) - {""}
            ),
        },
        "devices": members,
    }
    if "ssid" in shared or "passphrase" in shared:
        body["network"] = {
            "ssid": shared.get("ssid", ("", 0))[0],
            "passphrase": shared.get("passphrase", ("", 0))[0],
        }
    if "strategy" in shared:
        body["strategy"] = shared["strategy"][0]
    return body, [number for number, _ in devices], errors[:MAX_ERRORS]


def _member(values: dict[str, str]) -> dict[str, Any]:
    member: dict[str, Any] = {"device_id": values["device_id"]}
    for name in ("model", "site"):
        if values.get(name):
            member[name] = values[name]
    hints = {name: values[name] for name in ("address", "ieee") if values.get(name)}
    hints |= {
        name.removeprefix(HINT_PREFIX): value
        for name, value in values.items()
        if name.startswith(HINT_PREFIX) and value
    }
    if hints:
        member["transport_hints"] = hints
    return member


def _on_lines(error: FieldError, line_of_device: list[int]) -> FieldError:
    """A validation error of the built request, located on the CSV's lines."""
    loc = list(error.loc)
    if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int):
        where: list[str | int] = ["body", line_of_device[loc[1]], *loc[2:]]
    elif loc and loc[0] == "network":
        where = ["body", "network", *loc[1:]]
    else:
        where = ["body", *loc]
    return FieldError(loc=where, msg=error.msg, type=error.type)


def _error(loc: list[str | int], msg: str, kind: str) -> FieldError:
    return FieldError(loc=loc, msg=msg, type=kind)


def _refused(errors: list[FieldError]) -> ApiError:
    return invalid(errors[:MAX_ERRORS], detail="the CSV fleet is invalid")
