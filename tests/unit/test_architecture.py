"""The package's rooms keep to their walls: the import rules of docs/architecture.md.

Imports are read with `ast` (function-level imports included, since the Lambda
defers heavy ones), so a rule broken inside a function is still caught.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "feed_archiver"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    """feed_archiver modules that `path` imports (resolved to a module, not a name in it)."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:
            continue  # `if TYPE_CHECKING:` blocks are for the type checker only
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.startswith("feed_archiver") and name in modules():
                found.add(name)
    return found


def in_room(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


# (room, rooms it must never import). The Lambda's path never reaches history/ or the CLI.
FORBIDDEN = [
    ("feed_archiver.fetch", ["feed_archiver.storage", "feed_archiver.run", "feed_archiver.history",
                             "feed_archiver.parse", "feed_archiver.archive", "feed_archiver.cli"]),
    ("feed_archiver.storage", ["feed_archiver.fetch", "feed_archiver.parse", "feed_archiver.tag",
                               "feed_archiver.run", "feed_archiver.history", "feed_archiver.cli"]),
    ("feed_archiver.archive_format", ["feed_archiver.storage", "feed_archiver.fetch",
                                      "feed_archiver.run"]),
    ("feed_archiver.parse", ["feed_archiver.storage", "feed_archiver.fetch", "feed_archiver.run"]),
    ("feed_archiver.tag", ["feed_archiver.storage", "feed_archiver.fetch", "feed_archiver.run"]),
    ("feed_archiver.run", ["feed_archiver.history", "feed_archiver.cli"]),
    ("feed_archiver.handler", ["feed_archiver.history", "feed_archiver.cli"]),
    ("feed_archiver.history", ["feed_archiver.cli", "feed_archiver.handler"]),
    ("feed_archiver.publish", ["feed_archiver.history", "feed_archiver.cli",
                               "feed_archiver.analytics"]),
    ("feed_archiver.exports", ["feed_archiver.storage", "feed_archiver.run"]),
    ("feed_archiver.atom", ["feed_archiver.storage", "feed_archiver.run"]),
]  # fmt: skip


@pytest.mark.parametrize(("room", "never"), FORBIDDEN, ids=[r for r, _ in FORBIDDEN])
def test_a_room_never_imports_what_its_rules_forbid(room: str, never: list[str]) -> None:
    broken = [
        f"{module} imports {target}"
        for module, path in modules().items()
        if in_room(module, room)
        for target in imports_of(path)
        if any(in_room(target, forbidden) for forbidden in never)
    ]
    assert not broken, broken


def test_no_import_cycle_among_the_package_modules() -> None:
    graph = {m: imports_of(p, top_level_only=True) - {m} for m, p in modules().items()}
    # A package's __init__ re-exporting its own modules is not a cycle of the design.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    visiting, done, cycles = set(), set(), []

    def visit(node: str, trail: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append([*trail[trail.index(node) :], node])
            return
        visiting.add(node)
        for target in sorted(graph.get(node, ())):
            visit(target, [*trail, node])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, cycles


def test_no_except_import_error_hides_a_cycle() -> None:
    hiding = [
        str(path.relative_to(ROOT))
        for path in modules().values()
        if re.search(r"except\s*\(?[^)\n]*\bImportError\b", path.read_text("utf-8"))
    ]
    assert not hiding, hiding


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules().values()
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_the_architecture_map_names_every_room_and_module() -> None:
    text = ARCHITECTURE.read_text("utf-8")
    missing = [
        str(path.relative_to(PACKAGE))
        for path in modules().values()
        if path.name != "__init__.py" and str(path.relative_to(PACKAGE)) not in text
    ]
    assert not missing, f"docs/architecture.md does not mention: {missing}"
    named = set(re.findall(r"`((?:[a-z_]+/)?[a-z_]+\.py)`", text))
    homes = (PACKAGE, ROOT / "dashboard")
    gone = sorted(n for n in named if not any((home / n).exists() for home in homes))
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"
