"""Hostile identifiers on every route of the API, served over TCP as in production.

Every `{param}` of every route gets a newline, a NUL, 10 KB, a lookalike letter and `..`.
Each is refused with 422 problem+json before the API asks Temporal anything, and never
reaches a log: not the access log, not the server's error log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from api.app import ApiDependencies, ApiServer, start_api
from domain.api_models import PROBLEM_CONTENT_TYPE

MARK = "zq7"
"""In every hostile value (but `..`), so that a log line carrying one is found."""

HOSTILE = {
    "newline": f"{MARK}\n",
    "trailing newline on a valid id": f"{MARK}-fleet\n",
    "NUL": f"{MARK}\x00x",
    "10 KB": MARK * 3400,
    "Cyrillic lookalike": f"{MARK}-dev\u0456ce",
    "fullwidth digits": f"{MARK}\uff11\uff12",
    "dot-dot": "..",
    "space": f"{MARK} x",
    "slash (encoded)": f"{MARK}/x",
}


@pytest.fixture
async def served(api_deps: ApiDependencies) -> AsyncIterator[ApiServer]:
    server = await start_api(api_deps, "127.0.0.1", 0)
    yield server
    await server.close()


def parameterised_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route with a path parameter."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        formatter = info.get("formatter")
        if formatter and "{" in formatter and route.method != "HEAD":
            found.add((route.method, formatter))
    return sorted(found)


def logged_text(records: list[logging.LogRecord]) -> str:
    lines = []
    for record in records:
        lines.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            lines.append(repr(record.exc_info[1]))
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


async def test_every_route_refuses_hostile_identifiers_before_temporal_and_logs(
    served: ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    routes = parameterised_routes(served.runner.app)
    assert len(routes) >= 12  # every device and fleet route
    async with aiohttp.ClientSession() as session:
        for method, template in routes:
            for name, value in HOSTILE.items():
                path = re.sub(r"\{[a-z_]+\}", quote(value, safe=""), template)
                url = URL(f"{served.url}{path}", encoded=True)
                body: dict[str, str] | None = {} if method == "POST" else None
                async with session.request(method, url, json=body) as response:
                    seen = (method, template, name)
                    assert response.status == 422, seen
                    assert response.content_type == PROBLEM_CONTENT_TYPE, seen
                    problem = await response.json()
                    assert problem["code"] == "INVALID_REQUEST", seen
                    assert MARK not in str(problem), seen
    assert MARK not in logged_text(caplog.records)


async def test_a_request_line_past_the_servers_limit_is_refused_without_logging_it(
    served: ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = URL(f"{served.url}/api/v1/devices/{MARK * 8000}/provision", encoded=True)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert 400 <= response.status < 500

    assert MARK not in logged_text(caplog.records)
    # The refusal is in the access log like any request, and the logger did not fail on
    # a request that never reached the router.
    assert "Unhandled exception" not in logged_text(caplog.records)
    access = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert [r.getMessage().rsplit(" ", 3)[1] for r in access] == ["400"]


async def test_the_access_log_keeps_no_credential_of_the_url(
    served: ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret = "dpk_leak_" + "s" * 32
    url = f"{served.url}/api/v1/devices/some-device/provision/events"
    async with aiohttp.ClientSession() as session:
        for query in ({"access_token": secret}, {"ticket": secret, "x": "1"}):
            async with session.get(url, params=query) as response:
                await response.read()

    access = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert len(access) == 2
    text = logged_text(access)
    assert secret not in text
    assert "/api/v1/devices/some-device/provision/events" in text
    assert "access_token=[redacted]" in text
