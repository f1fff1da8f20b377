"""The hand-written package's modules import each other in one direction only (floors, no circles)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "carecloud_async"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def internal_imports() -> dict[str, set[str]]:
    """Every module of carecloud_async and the package modules it imports anywhere: at the top, in a
    function (lazy) or under TYPE_CHECKING alike, since each of them is a dependency."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph`` (each as the path that closes it), ignoring a package's own
    ``__init__`` re-exporting its modules (a package importing its children is not a floor)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if target == node.rpartition(".")[0] or node == target.rpartition(".")[0]:
                continue  # child -> parent package, or the package -> its own child
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target] if target in path else [node, target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def test_the_module_graph_has_no_import_cycles() -> None:
    assert cycles(internal_imports()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("carecloud_async._operations", "carecloud_async._client"),
        ("carecloud_async._operations", "carecloud_async._pagination"),
        ("carecloud_async._pagination", "carecloud_async._client"),
        ("carecloud_async._auth", "carecloud_async._enterprise_auth"),
        ("carecloud_async._auth", "carecloud_async._customer_auth"),
        ("carecloud_async._tokens", "carecloud_async._customer_auth"),
    ],
)
def test_floors(lower: str, upper: str) -> None:
    graph = internal_imports()
    assert lower in graph[upper], f"{upper} should build on {lower}"
    assert upper not in graph[lower], f"{lower} must not import {upper}"


def test_each_lifecycle_is_read_on_its_own() -> None:
    graph = internal_imports()
    assert "carecloud_async._customer_auth" not in graph["carecloud_async._enterprise_auth"]
    assert "carecloud_async._enterprise_auth" not in graph["carecloud_async._customer_auth"]
