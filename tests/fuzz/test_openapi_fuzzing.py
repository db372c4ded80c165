"""Schemathesis against the served OpenAPI document, on a live API.

Thousands of generated requests (valid and invalid bodies, paths, queries, headers):
the API never answers 5xx, and every answer conforms to the document (status code,
content type, schema). `DEVPROV_FUZZ_CASES` is the number of cases per operation
(`make chaos` raises it); `DEVPROV_FUZZ_SEED` replays a run.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from api import ApiServer

ROOT = Path(__file__).resolve().parents[2]
CASES_PER_OPERATION = int(os.environ.get("DEVPROV_FUZZ_CASES", "100"))
CHECKS = (
    # schemathesis' own `not_a_server_error` also fails the documented 503
    # TEMPORAL_UNAVAILABLE of a query that timed out on a loaded machine.
    "no_undocumented_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# Left out, though they are safe to fuzz (issue 9: the API stays healthy; schemathesis
# reads an event stream for at most the request timeout or 20 events, then drops it):
# the document does not list their 400 for a bad Last-Event-ID (ST103), its SSE schema
# describes `data` where schemathesis 4 validates the whole event (ST108), and each
# stateful step that follows a waiting run costs the full request timeout.
# test_hostile_streams.py and tests/api/test_abandoned_streams.py cover them instead.
STREAMS = r"/(events|ws)$"
PHASES = os.environ.get("DEVPROV_FUZZ_PHASES", "examples,coverage,fuzzing")
"""`make chaos` adds the stateful phase (sequences of linked calls, each update waiting
for its run): 117 scenarios take about 400 s, beyond `make test`'s budget."""


# About 0.2 s per case and operation on 2 cores, plus the stateful phase.
@pytest.mark.timeout(900 + CASES_PER_OPERATION)
async def test_generated_requests_never_get_a_5xx_and_every_answer_matches_the_document(
    live_api: ApiServer, tmp_path: Path
) -> None:
    binary = shutil.which("schemathesis")
    assert binary is not None, "schemathesis is installed with the test extra"
    seed = os.environ.get("DEVPROV_FUZZ_SEED")
    command = [
        binary,
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{live_api.url}/api/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(CASES_PER_OPERATION),
        "--phases",
        PHASES,
        "--exclude-path-regex",
        STREAMS,
        # One worker: with two threads, CPython 3.11's `ast` sometimes fails inside
        # schemathesis' coverage phase ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        # Updates (credentials, retry, forget) wait up to 60 s for the run to take them.
        "--request-timeout",
        "75",
        "--no-color",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *(["--seed", seed] if seed else []),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        },
        cwd=tmp_path,
    )
    output_bytes, _ = await process.communicate()
    output = output_bytes.decode(errors="replace")
    print(output[-3000:])
    assert process.returncode == 0, output[-20000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-3000:]
    assert int(generated.group(1)) >= 10 * CASES_PER_OPERATION
