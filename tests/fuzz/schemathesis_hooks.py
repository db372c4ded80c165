"""Schemathesis checks and hooks of our own (loaded through `SCHEMATHESIS_HOOKS`)."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

DOCUMENTED_UNAVAILABLE = '"code":"TEMPORAL_UNAVAILABLE"'
STREAM_LOG = "DEVPROV_FUZZ_STREAM_LOG"
"""Environment variable: the file `after_call` appends one line to per event stream read."""


@schemathesis.check
def no_undocumented_server_error(ctx: Any, response: Any, case: Any) -> None:
    """No 5xx, except the documented 503 TEMPORAL_UNAVAILABLE problem.

    A progress query that no worker answers within its timeout (a loaded CI machine)
    is answered 503 TEMPORAL_UNAVAILABLE by design; any other 5xx is a bug.
    """
    body = response.text.replace(" ", "")
    if response.status_code >= 500 and not (
        response.status_code == 503 and DOCUMENTED_UNAVAILABLE in body
    ):
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code}: "
            f"{response.text[:300]}"
        )


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    """Note each event stream schemathesis read and how many events it carried.

    The fuzz test reads the notes to know that the streams' events were really checked,
    not only their 404s.
    """
    path = os.environ.get(STREAM_LOG)
    content_type = response.headers.get("content-type", [""])[0]
    if path is None or not content_type.startswith("text/event-stream"):
        return
    lines = response.content.decode(errors="replace").splitlines()
    note = {
        "operation": case.operation.label,
        "status": response.status_code,
        "events": sum(line.startswith("data:") for line in lines),
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(note) + "\n")
