"""The reference documentation says what the code does.

Routes come from the application's router and the served OpenAPI document, so a route
added to the code fails here until docs/api.md describes it; states, error codes,
scopes, stream formats and every schema's fields and values are compared with the
enums and models themselves (error codes: the shared `ErrorCode` and every code the
families of this repository declare); every document is reachable from the README.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from api.access import required_scope
from api.app import ApiDependencies, create_app
from api.auth import AuthConfig, Scope
from api.openapi import openapi_document
from api.problems import _HTTP_CODES
from config.policies import load_policy_book
from config.settings import Settings
from domain.api_models import FLEET_SSE_EVENT, PROGRESS_SSE_EVENT
from domain.errors import ErrorCode
from domain.progress import StreamedEvent
from domain.states import TERMINAL_STATES, ProvisioningState
from strategies.catalog import build_registry
from strategies.family import DeviceFamily, installed_families

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
API_MD = DOCS / "api.md"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
ROUTE_CELL = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \|")
CODE_TOKEN = re.compile(r"`([A-Z][A-Z0-9_]+)`")


# ---------------------------------------------------------------------- helpers


def section(text: str, heading: str) -> str:
    """The text under `heading` (a whole line) up to the next heading of its level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next(
        (
            i
            for i in range(start, len(lines))
            if re.match(rf"^#{{1,{level}}} ", lines[i]) and not lines[i - 1].startswith("```")
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def api_md() -> str:
    return API_MD.read_text()


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows[1:] if rows else rows


def documented_routes() -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the row's cells, from the Routes table of docs/api.md."""
    routes = {}
    for line in section(api_md(), "## Routes").splitlines():
        match = ROUTE_CELL.match(line)
        if match:
            routes[(match[1], match[2])] = [c.strip() for c in line.strip("|").split(" | ")]
    return routes


def app() -> web.Application:
    return create_app(
        ApiDependencies(
            temporal=None,  # type: ignore[arg-type]
            registry=build_registry(),
            policies=load_policy_book(),
            settings=Settings(),
        )
    )


def router_routes() -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app().router.routes()
        if route.resource is not None and route.method in METHODS
    }


def static_prefixes() -> set[str]:
    return {
        r.resource.canonical
        for r in app().router.routes()
        if isinstance(r.resource, web.StaticResource)
    }


def openapi_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method.upper() in METHODS
    }


def codes_the_api_raises() -> set[str]:
    codes = {code.value for code in _HTTP_CODES.values()}
    for path in (ROOT / "api").glob("*.py"):
        codes |= set(re.findall(r"ErrorCode\.([A-Z_]+)", path.read_text()))
    return codes


# ---------------------------------------------------------------------- routes


def test_routes_table_lists_exactly_the_routes_the_api_serves() -> None:
    documented = set(documented_routes())

    assert documented - router_routes() == set(), "documented but not served"
    assert router_routes() - documented == set(), "served but not documented in docs/api.md"


def test_routes_table_matches_the_openapi_document() -> None:
    documented = {(m, p) for m, p in documented_routes() if p not in static_prefixes()}

    assert documented == openapi_routes()


def test_each_route_documents_the_scope_the_api_requires() -> None:
    public = AuthConfig.from_env(
        {"DEVPROV_API_KEY": "dpk_a_Q7vX2mLp9tRb4KzW8nYc3HdF6sJa"}
    ).public_paths
    for (method, path), cells in documented_routes().items():
        concrete = path.replace("{device_id}", "d1").replace("{fleet_id}", "f1")
        if concrete in public or concrete == "/console" or concrete.startswith("/console/"):
            expected = "public"
        else:
            expected = required_scope(make_mocked_request(method, concrete)).value
        assert cells[1] == expected, (method, path)


def test_each_route_documents_success_statuses_of_its_openapi_operation() -> None:
    paths = openapi_document()["paths"]
    for (method, path), cells in documented_routes().items():
        if path in static_prefixes():
            continue
        statuses = set(re.findall(r"`(\d{3})", cells[3]))
        responses = set(paths[path][method.lower()]["responses"])
        assert statuses, (method, path)
        assert statuses <= responses, (method, path, statuses, responses)


# ---------------------------------------------------------------------- enums and codes


def test_states_line_lists_every_state_and_which_are_terminal() -> None:
    status = section(api_md(), "### Status")
    line = " ".join(status.split("States:", 1)[1].split("\n\n", 1)[0].split())
    running, terminal = line.split("terminal:")

    assert CODE_TOKEN.findall(running) == [
        s.value for s in ProvisioningState if s not in TERMINAL_STATES
    ]
    assert set(CODE_TOKEN.findall(terminal)) == {s.value for s in TERMINAL_STATES}


def test_errors_table_lists_every_code_the_api_raises() -> None:
    rows = table_rows(section(api_md(), "## Errors"))
    documented = {code for row in rows for code in CODE_TOKEN.findall(row[1])}

    assert codes_the_api_raises() - documented == set()
    assert documented <= {c.value for c in ErrorCode}
    assert all(row[0].isdigit() for row in rows)


def families_of_this_repository() -> list[DeviceFamily]:
    """The installed families whose code lives in this repository. A family in a package
    of its own documents its codes in its own documentation (docs/families.md)."""
    return [
        family
        for family in installed_families()
        if Path(inspect.getfile(family.strategy)).resolve().is_relative_to(ROOT)
    ]


def test_errors_md_explains_every_error_code() -> None:
    """A row for each shared code and each code a family of this repository declares in
    its descriptor (`error_codes`), and for no other."""
    text = (DOCS / "errors.md").read_text()
    documented = {
        code
        for line in text.splitlines()
        if line.startswith("| `")
        for code in CODE_TOKEN.findall(line.split(" | ")[0])
    }
    declared = {code for family in families_of_this_repository() for code in family.error_codes}

    assert families_of_this_repository()
    assert declared - documented == set(), "declared by a family, no row in docs/errors.md"
    assert documented == {c.value for c in ErrorCode} | declared


def test_scopes_are_the_ones_keys_can_hold() -> None:
    auth = section(api_md(), "## Authentication and limits")
    bullet = next(line for line in auth.split("\n- ") if line.startswith("**Scopes**"))

    assert set(re.findall(r"`([a-z]+)`", bullet)) == {s.value for s in Scope}


# ---------------------------------------------------------------------- streams


def test_sse_example_has_the_event_name_and_fields_the_api_sends() -> None:
    sse = section(api_md(), "### Server-Sent Events")
    example = sse.split("```text", 1)[1].split("```", 1)[0]
    events = {line.split(": ", 1)[1] for line in example.splitlines() if line.startswith("event:")}
    payloads = [
        json.loads(line.split(": ", 1)[1])
        for line in example.splitlines()
        if line.startswith("data:")
    ]
    ids = [int(line.split(": ", 1)[1]) for line in example.splitlines() if line.startswith("id:")]

    assert events == {PROGRESS_SSE_EVENT}
    assert payloads
    assert all(set(p) == set(StreamedEvent.model_fields) for p in payloads)
    assert ids == [p["sequence"] for p in payloads]
    assert payloads[-1]["terminal"] is True
    assert f"event: {FLEET_SSE_EVENT}" in section(api_md(), "## Routes")


def test_websocket_section_names_its_route() -> None:
    ws = section(api_md(), "### WebSocket")

    assert ("GET", "/api/v1/devices/{device_id}/provision/ws") in router_routes()
    assert "/api/v1/devices/{device_id}/provision/ws" in ws


# ---------------------------------------------------------------------- schemas


def documented_schemas() -> dict[str, str]:
    schemas = section(api_md(), "## Schemas")
    parts = re.split(r"^### `(\w+)`$", schemas, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_schemas_section_documents_every_schema_of_the_openapi_document() -> None:
    assert set(documented_schemas()) == set(openapi_document()["components"]["schemas"])


def test_each_documented_schema_has_the_fields_and_values_of_the_code() -> None:
    components: dict[str, Any] = openapi_document()["components"]["schemas"]
    for name, text in documented_schemas().items():
        schema = components[name]
        rows = table_rows(text)
        if "enum" in schema:
            assert [row[0].strip("`") for row in rows] == schema["enum"], name
            continue
        fields = {row[0].strip("`"): row[2] == "yes" for row in rows}
        assert set(fields) == set(schema.get("properties", {})), name
        required = {field for field, is_required in fields.items() if is_required}
        assert required == set(schema.get("required", [])), name


# ---------------------------------------------------------------------- the documents


def markdown_links(path: Path) -> set[Path]:
    links = set()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
        if "://" not in target and not target.startswith("mailto:"):
            links.add((path.parent / target).resolve())
    return links


def test_every_document_is_reachable_from_the_readme() -> None:
    seen: set[Path] = set()
    todo = [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.is_file():
            continue
        seen.add(page)
        todo += markdown_links(page)

    documents = {p.resolve() for p in DOCS.rglob("*.md")}
    assert documents - seen == set()


def test_readme_documentation_section_links_every_top_level_document() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = markdown_links_in(section(readme, "## Documentation"))

    assert {p.name for p in DOCS.glob("*.md")} <= listed


def markdown_links_in(text: str) -> set[str]:
    return {Path(t).name for t in re.findall(r"\]\((docs/[^)#\s]+)", text)}


def test_relative_links_in_the_docs_resolve() -> None:
    pages = [ROOT / "README.md", *DOCS.rglob("*.md")]
    broken = {
        (str(page.relative_to(ROOT)), str(target))
        for page in pages
        for target in markdown_links(page)
        if not target.exists()
    }

    assert broken == set()


def test_configuration_md_lists_every_variable_the_code_reads() -> None:
    text = (DOCS / "configuration.md").read_text()
    read: set[str] = set()
    for package in (
        "config",
        "connection",
        "services",
        "worker",
        "api",
        "cli",
        "client",
        "adapters",
        "activities",
    ):
        for path in (ROOT / package).rglob("*.py"):
            read |= set(re.findall(r"\bDEVPROV_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))

    assert {name for name in read if name not in text} == set()
