"""deployments/, CLI -> flows/ -> tasks/ -> connectors/, socialops -> socialops.settings,
and beside them CLI -> sandbox/ -> connectors/, socialops.

Walks every import of our packages and fails when a lower layer imports a higher one, when
code below tasks/ imports Prefect (the domain, the connectors and the sandbox must run without
it), when anything but the CLI imports the sandbox (a simulator: no client, flow, task or
deployment depends on it), or when project modules import each other in a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from tests.conftest import REPO

RANK = {
    "cli": 5,
    "deployments": 5,
    "flows": 4,
    "tasks": 3,
    "sandbox": 2,
    "connectors": 1,
    "socialops": 0,
}
SETTINGS = "socialops.settings"
NO_PREFECT = ("socialops", "connectors", "sandbox")
ONLY_IMPORTED_BY = {"sandbox": ("cli", "sandbox")}
PROJECT = tuple(RANK)


def _module(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(module: str) -> int | None:
    if module == SETTINGS or module.startswith(SETTINGS + "."):
        return -1
    return RANK.get(module.split(".")[0])


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _violations(root: Path = REPO) -> list[str]:
    problems = []
    for package in RANK:
        for path in sorted((root / package).rglob("*.py")):
            me = _module(path, root)
            my_rank = _rank(me)
            assert my_rank is not None
            mine = me.split(".")[0]
            for line, imported in _imports(path):
                where = f"{path.relative_to(root)}:{line}"
                theirs = imported.split(".")[0]
                if theirs == "prefect" and mine in NO_PREFECT:
                    problems.append(f"{where}: {me} imports Prefect")
                their_rank = _rank(imported)
                if their_rank is not None and their_rank > my_rank:
                    problems.append(f"{where}: {me} (layer {my_rank}) imports {imported}")
                elif mine not in ONLY_IMPORTED_BY.get(theirs, (mine,)):
                    problems.append(f"{where}: {me} imports {imported} (only for the CLI)")
    return problems


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level or inside functions, but not
    under ``if TYPE_CHECKING:`` (only the type checker reads those)."""
    for child in ast.iter_child_nodes(node):
        statements: list[ast.AST] = [child]
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            statements = list(child.orelse)
        for statement in statements:
            if isinstance(statement, ast.Import | ast.ImportFrom):
                yield statement
            yield from _runtime_imports(statement)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph(root: Path = REPO, packages: Iterable[str] = PROJECT) -> dict[str, set[str]]:
    """Each project module, and the project modules it imports.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module, else ``a.b``.
    A package's ``__init__`` that runs first is not counted: ``sandbox.world`` importing
    ``sandbox.content`` is not ``sandbox.world`` importing ``sandbox``.
    """
    paths = {
        _module(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }
    graph: dict[str, set[str]] = {}
    for me, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    targets.add(submodule if submodule in paths else node.module)
        graph[me] = {target for target in targets if target in paths}
    return graph


def find_import_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One circle per set of modules that import each other (directly or round a loop), as the
    path from its first module back to it, e.g. ``["cli.main", "cli.rota", "cli.main"]``.

    Tarjan's strongly connected components, then the shortest loop through the component's
    first module; sorted, so a failure reads the same on every run.
    """
    edges = {node: sorted(set(targets)) for node, targets in graph.items()}
    for targets in list(edges.values()):
        for target in targets:
            edges.setdefault(target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(_loop_through(component[0], set(component), edges) for component in components)


def _loop_through(start: str, members: set[str], edges: Mapping[str, list[str]]) -> list[str]:
    """The shortest path from ``start`` back to itself, within ``members`` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in edges[node]:
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target in members and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in no loop")  # unreachable for a component


def test_no_lower_layer_imports_a_higher_one() -> None:
    assert _violations() == []


def test_no_project_modules_import_each_other_in_a_circle() -> None:
    assert [" -> ".join(cycle) for cycle in find_import_cycles(import_graph())] == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    # A probe in a tree of its own: one written into the checkout would be seen by tests
    # running beside this one (pytest -n), which walk the same folders.
    for package in RANK:
        (tmp_path / package).mkdir()
    bad = tmp_path / "socialops" / "_layer_probe.py"
    bad.write_text("from flows import ingest_mentions\nimport prefect\n", encoding="utf-8")
    problems = _violations(tmp_path)
    assert "socialops/_layer_probe.py:1: socialops._layer_probe (layer 0) imports flows" in problems
    assert "socialops/_layer_probe.py:2: socialops._layer_probe imports Prefect" in problems


def test_only_the_cli_imports_the_sandbox_and_the_sandbox_no_prefect(tmp_path: Path) -> None:
    files = {
        "connectors/mastodon.py": "from sandbox import world\n",
        "tasks/ingest.py": "def f() -> None:\n    from sandbox import server\n",
        "sandbox/world.py": "from connectors import mastodon\nfrom socialops import mentions\n",
        "sandbox/server.py": "import prefect\nfrom flows import run_sync\n",
        "cli/demo.py": "from sandbox.server import SandboxServer\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert sorted(_violations(tmp_path)) == [
        "connectors/mastodon.py:1: connectors.mastodon (layer 1) imports sandbox",
        "connectors/mastodon.py:1: connectors.mastodon (layer 1) imports sandbox.world",
        "sandbox/server.py:1: sandbox.server imports Prefect",
        "sandbox/server.py:2: sandbox.server (layer 2) imports flows",
        "sandbox/server.py:2: sandbox.server (layer 2) imports flows.run_sync",
        "tasks/ingest.py:2: tasks.ingest imports sandbox (only for the CLI)",
        "tasks/ingest.py:2: tasks.ingest imports sandbox.server (only for the CLI)",
    ]


def test_find_import_cycles_reports_each_circle_once() -> None:
    graph = {
        "a": {"b"},
        "b": {"c", "d"},
        "c": {"a", "b"},
        "d": set(),
        "e": {"a"},
        "f": {"f"},
    }
    assert find_import_cycles(graph) == [["a", "b", "c", "a"], ["f", "f"]]
    assert find_import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones(tmp_path: Path) -> None:
    """The circle this repository once had: cli.main imports cli.rota, whose commands
    imported cli.main's helpers inside the function."""
    files = {
        "cli/__init__.py": "",
        "cli/main.py": "from cli.rota import assign\nfrom cli import render\n",
        "cli/render.py": "",
        "cli/rota.py": "def assign() -> None:\n    from cli.main import prepare\n",
        "cli/app.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from cli.main import main\nelse:\n    import cli.render\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path, ["cli"])
    assert graph["cli.main"] == {"cli.rota", "cli.render"}
    assert graph["cli.app"] == {"cli.render"}
    assert find_import_cycles(graph) == [["cli.main", "cli.rota", "cli.main"]]


def test_no_module_imports_another_modules_private_names() -> None:
    """Shared helpers are public in the module that owns them: ``from x import _y`` between
    project modules means a private name has become an interface."""
    private = []
    for package in PROJECT:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in RANK:
                    private += [
                        f"{path.relative_to(REPO)}:{node.lineno}: {alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") and alias.name != "__version__"
                    ]
    assert private == []


def test_routing_is_domain_code_without_prefect_even_indirectly() -> None:
    """socialops.routing is walked as domain code (layer 0), and importing it loads no Prefect."""
    modules = [m for m in import_graph() if m.startswith("socialops.routing")]
    assert {_rank(m) for m in modules} == {0} and len(modules) > 5
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, socialops.routing; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.split()
    assert [name for name in loaded if "prefect" in name] == []
