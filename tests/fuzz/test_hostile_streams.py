"""Hand-written bad input on the event-stream routes (SSE and WebSocket), on a live API.

Schemathesis runs these routes too (test_openapi_fuzzing.py), with the values it
generates; here each known bad request is refused with a 4xx `application/problem+json`
before any stream starts, and the API keeps answering afterwards.
"""

from __future__ import annotations

import httpx
import pytest

from api import ApiServer
from tests.fuzz.test_hostile_bodies import assert_still_serving, problem_code

STREAMS = [
    "/api/v1/devices/{device}/provision/events",
    "/api/v1/devices/{device}/provision/ws",
]
BAD_SEQUENCES = ["abc", "-1", "1.5", "{}", "null", "9" * 5000]


async def get(
    api: ApiServer,
    path: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    # A stream that starts by mistake fails the test at the timeout, not after its run.
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        return await http.get(f"{api.url}{path}", params=params, headers=headers)


@pytest.mark.parametrize("path", STREAMS)
async def test_a_device_without_run_is_a_404_problem_before_streaming(
    live_api: ApiServer, path: str
) -> None:
    response = await get(live_api, path.format(device="fuzz-nobody"))
    assert response.status_code == 404, response.text
    assert problem_code(response) == "RUN_NOT_FOUND"


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("bad", BAD_SEQUENCES, ids=lambda bad: bad[:8])
async def test_a_last_event_id_query_that_is_not_a_sequence_is_a_400_problem(
    live_api: ApiServer, path: str, bad: str
) -> None:
    response = await get(live_api, path.format(device="fuzz-relay"), params={"last_event_id": bad})
    assert response.status_code == 400, response.text
    assert problem_code(response) == "INVALID_REQUEST"


@pytest.mark.parametrize("bad", BAD_SEQUENCES, ids=lambda bad: bad[:8])
async def test_a_last_event_id_header_that_is_not_a_sequence_is_a_400_problem(
    live_api: ApiServer, bad: str
) -> None:
    path = STREAMS[0].format(device="fuzz-relay")
    response = await get(live_api, path, headers={"Last-Event-ID": bad})
    assert response.status_code == 400, response.text
    assert problem_code(response) == "INVALID_REQUEST"
    await assert_still_serving(live_api)
