"""Hand-written hostile bodies against every route that reads one, on a live API.

Each is refused with `application/problem+json`, a 4xx and a stable code, never a 5xx,
and the API keeps answering afterwards.
"""

from __future__ import annotations

import httpx
import pytest

from api import ApiServer

BODY_ROUTES = [
    "/api/v1/devices/fuzz-relay/provision",
    "/api/v1/fleets/fuzz-fleet/provision",
    "/api/v1/strategies/match",
]
JSON = {"Content-Type": "application/json"}


async def post(
    api: ApiServer, path: str, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        return await http.post(f"{api.url}{path}", content=content, headers=headers)


async def assert_still_serving(api: ApiServer) -> None:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        assert (await http.get(f"{api.url}/healthz")).status_code == 200


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    code: str = response.json()["code"]
    return code


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(
    "content",
    [b"{", b'{"device": ', b"\x00", b"\xff\xfe\xfd", b"not json", b'{"a": 1}}', b""],
    ids=["open-brace", "truncated", "nul", "not-utf8", "text", "trailing", "empty"],
)
async def test_malformed_json_is_a_400_problem(
    live_api: ApiServer, path: str, content: bytes
) -> None:
    response = await post(live_api, path, content, JSON)
    assert response.status_code in (400, 422), response.text
    assert problem_code(response) in ("MALFORMED_JSON", "INVALID_REQUEST")


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_body_that_is_not_json_is_a_415_problem(
    live_api: ApiServer, path: str, content_type: str
) -> None:
    response = await post(live_api, path, b'{"device": {}}', {"Content-Type": content_type})
    assert response.status_code == 415, response.text
    assert problem_code(response) == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize("path", BODY_ROUTES)
async def test_a_huge_body_is_a_413_problem_and_the_api_keeps_serving(
    live_api: ApiServer, path: str
) -> None:
    huge = b'{"pad": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    response = await post(live_api, path, huge, JSON)
    assert response.status_code == 413, response.text[:300]
    assert problem_code(response) == "PAYLOAD_TOO_LARGE"
    await assert_still_serving(live_api)


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize("opener", [b"[", b'{"a":'], ids=["arrays", "objects"])
async def test_a_deeply_nested_body_is_refused_without_hurting_the_parser(
    live_api: ApiServer, path: str, opener: bytes
) -> None:
    depth = 50_000  # far past Python's recursion limit; still under the size limit
    closer = b"]" if opener == b"[" else b"}"
    body = opener * depth + b"1" + closer * depth
    response = await post(live_api, path, body[: 60 * 1024], JSON)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert problem_code(response) in ("MALFORMED_JSON", "INVALID_REQUEST", "PAYLOAD_TOO_LARGE")
    await assert_still_serving(live_api)


async def test_a_deeply_nested_body_that_is_complete_json_is_refused(live_api: ApiServer) -> None:
    depth = 10_000
    body = b'{"device": ' + b"[" * depth + b"]" * depth + b"}"
    response = await post(live_api, BODY_ROUTES[0], body, JSON)
    assert 400 <= response.status_code < 500, response.text[:300]
    problem_code(response)
    await assert_still_serving(live_api)
