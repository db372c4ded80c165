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
    "registry",
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
    # The registry is storage: the activities and the API use it, it uses neither.
    "registry": {"temporalio", "activities", "workflows", "worker", "api", "strategies"}
    | {"simulators", "cli", "client", "services", "connection"},
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
    # A real gateway loads no simulator code: only the embedded stack wires simulators.
    "worker": {"api", "cli", "client", "simulators"},
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph() -> dict[str, set[str]]:
    """Which of our modules each of our modules imports (type-checking imports included)."""
    paths = {_module_name(p): p for package in OURS for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    if submodule in paths:
                        targets.add(submodule)
                    elif node.module in paths:
                        targets.add(node.module)
        graph[name] = targets - {name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return circles


def test_no_module_of_ours_imports_itself_back_through_others() -> None:
    assert _circles(_module_graph()) == []


def test_the_circle_check_finds_a_circle() -> None:
    graph = {"a.contract": {"a.impl"}, "a.impl": {"a.contract"}, "b": {"a.impl"}}

    assert _circles(graph) == [["a.contract", "a.impl"]]
