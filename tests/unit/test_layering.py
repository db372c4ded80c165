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
    "registry",
}
IO_LIBRARIES = {"httpx", "aiohttp", "bleak", "bumble", "zigpy", "requests", "socket"}

FORBIDDEN: dict[str, set[str]] = {
    "domain": (OURS - {"domain"}) | IO_LIBRARIES | {"temporalio"},
    "strategies": {"adapters", "activities", "workflows", "worker", "api", "simulators"}
    | IO_LIBRARIES,
    "workflows": {"adapters", "activities", "worker", "api", "simulators"} | IO_LIBRARIES,
    "adapters": {"temporalio", "activities", "workflows", "worker", "api", "strategies"},
    "activities": {"worker", "api", "simulators", "workflows"},
    # The registry is storage: the activities and the API use it, it uses neither.
    "registry": {"temporalio", "activities", "workflows", "worker", "api", "strategies"}
    | {"simulators", "cli", "client"},
    # The SDK speaks HTTP with the domain's models only; its BLE scan reuses the
    # gateways' BLE adapters.
    "client": (OURS - {"domain", "client", "adapters"}) | {"temporalio", "aiohttp", "zigpy"},
}


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
    }

    assert {file: bad for file, bad in violations.items() if bad} == {}
