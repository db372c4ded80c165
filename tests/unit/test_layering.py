"""The dependency rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {
    "domain",
    "config",
    "strategies",
    "adapters",
    "activities",
    "workflows",
    "worker",
    "api",
    "simulators",
    "client",
    "cli",
    "connection",
    "services",
}
ENTRY_POINTS = {"api", "cli", "worker"}
IO_LIBRARIES = {"httpx", "aiohttp", "bleak", "bumble", "zigpy", "requests", "socket"}

FORBIDDEN: dict[str, set[str]] = {
    "domain": (OURS - {"domain"}) | IO_LIBRARIES | {"temporalio"},
    "strategies": {"adapters", "activities", "workflows", "worker", "api", "simulators"}
    | IO_LIBRARIES,
    "workflows": {"adapters", "activities", "worker", "api", "simulators"} | IO_LIBRARIES,
    "adapters": {"temporalio", "activities", "workflows", "worker", "api", "strategies"},
    "activities": {"worker", "api", "simulators", "workflows"},
    # The SDK speaks HTTP with the domain's models only; its BLE scan reuses the
    # gateways' BLE adapters.
    "client": (OURS - {"domain", "client", "adapters"}) | {"temporalio", "aiohttp", "zigpy"},
    # The connection to Temporal is used by every entry point and knows none of them.
    "connection": (OURS - {"domain", "config", "connection"}) | IO_LIBRARIES,
    # The use cases know the domain, the registry and Temporal, not HTTP or radios.
    "services": ENTRY_POINTS
    | {"simulators", "adapters", "activities", "client", "connection"}
    | IO_LIBRARIES,
    # Entry points import inwards, never each other.
    "api": {"cli", "worker", "simulators", "adapters", "activities", "client"},
    "cli": {"api", "worker", "simulators"},
    "worker": {"api", "cli", "client"},
    "simulators": ENTRY_POINTS | {"services", "connection", "activities", "workflows"},
}

EMBEDDED_STACK = "worker/embedded.py"
"""The one composition root of `make run`: it wires the API, the workers and the
simulators together."""


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_its_dependency_rule(package: str) -> None:
    violations = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) != EMBEDDED_STACK
    }

    assert {file: bad for file, bad in violations.items() if bad} == {}
