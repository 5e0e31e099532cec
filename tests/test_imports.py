"""The house's shape, checked on the import graph of the project's own packages.

Every module under bot/, handlers/, services/, storage/ and jobs/ is parsed (not imported); every import in it
counts, wherever it stands (module level, inside a function, under ``if TYPE_CHECKING:``), because a lazy import
is still a dependency. ``from x import y`` is an edge to ``x.y`` when that is a module, else to ``x``; importing a
submodule is not counted as importing its parent package. A *router module* is a module under handlers/ that
binds ``router`` at its top level.

The rules:
1. no import circle anywhere;
2. a router module imports no other router module (flows share views and buttons, not routers);
3. jobs/ import from handlers/ only ``views`` and ``buttons`` modules (``handlers.<flow>.views``,
   ``handlers.<flow>.buttons``, ``handlers.views``, ``handlers.buttons``), and nothing in jobs/, services/,
   storage/ reaches a router module, directly or through other modules;
4. services/ and storage/ import nothing from handlers/ or jobs/, and services/ never imports aiogram;
5. in bot/, only the wiring (``bot.app``) imports handlers/; nothing below handlers/ imports ``bot.app``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "services", "storage", "jobs")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found[_name(path)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    is_package = (ROOT / Path(*base) / "__init__.py").exists()
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges(module: str, tree: ast.Module) -> tuple[set[str], set[str]]:
    """(project modules, other top-level packages) named by the imports in ``tree``."""
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                       for alias in node.names]
        else:
            continue
        for target in targets:
            (inside if target in MODULES else outside).add(target if target in MODULES else target.split(".")[0])
    inside.discard(module)
    return inside, outside


MODULES = _modules()
GRAPH = {module: _edges(module, tree)[0] for module, tree in MODULES.items()}


def _is_router(module: str) -> bool:
    if not module.startswith("handlers."):
        return False
    return any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "router"
                                                    for t in node.targets)
               for node in MODULES[module].body)


ROUTERS = {m for m in MODULES if _is_router(m)}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def _reach(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_walk_sees_the_project() -> None:
    assert len(MODULES) > 40
    assert ROUTERS, "no router modules found under handlers/"
    assert "bot.app" in MODULES and GRAPH["bot.app"]


def test_no_import_circle() -> None:
    assert _cycles() == []


def test_router_modules_do_not_import_each_other() -> None:
    wrong = sorted((m, n) for m in ROUTERS for n in GRAPH[m] if n in ROUTERS)
    assert wrong == []


@pytest.mark.parametrize("package", ["jobs", "services", "storage"])
def test_below_handlers_nothing_reaches_a_router(package: str) -> None:
    wrong = sorted((m, sorted(_reach(m) & ROUTERS)) for m in MODULES if _in(m, package) and _reach(m) & ROUTERS)
    assert wrong == []


def test_jobs_import_only_views_and_buttons_from_handlers() -> None:
    wrong = sorted((m, n) for m in MODULES if _in(m, "jobs") for n in GRAPH[m]
                   if _in(n, "handlers") and n.rsplit(".", 1)[-1] not in ("views", "buttons"))
    assert wrong == []


@pytest.mark.parametrize("package", ["services", "storage"])
def test_services_and_storage_import_neither_handlers_nor_jobs(package: str) -> None:
    wrong = sorted((m, n) for m in MODULES if _in(m, package) for n in GRAPH[m]
                   if _in(n, "handlers") or _in(n, "jobs") or n == "bot.app")
    assert wrong == []


def test_services_do_not_import_aiogram() -> None:
    wrong = sorted(m for m in MODULES if _in(m, "services")
                   if "aiogram" in _edges(m, MODULES[m])[1])
    assert wrong == []


def test_only_the_wiring_imports_handlers_and_nothing_imports_the_wiring_from_below() -> None:
    from_bot = sorted((m, n) for m in MODULES if _in(m, "bot") and m != "bot.app" for n in GRAPH[m]
                      if _in(n, "handlers"))
    into_app = sorted(m for m in MODULES if "bot.app" in GRAPH[m]
                      and (_in(m, "handlers") or _in(m, "jobs") or _in(m, "services") or _in(m, "storage")))
    assert (from_bot, into_app) == ([], [])
