"""deployments/, CLI -> flows/ -> tasks/ -> connectors/, socialops -> socialops.settings.

Walks every import of our packages and fails when a lower layer imports a higher one, or when
code below tasks/ imports Prefect (the domain and the connectors must run without it).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

RANK = {"cli": 4, "deployments": 4, "flows": 3, "tasks": 2, "connectors": 1, "socialops": 0}
SETTINGS = "socialops.settings"
NO_PREFECT = ("socialops", "connectors")


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
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


def _violations() -> list[str]:
    problems = []
    for package in RANK:
        for path in sorted((REPO / package).rglob("*.py")):
            me = _module(path)
            my_rank = _rank(me)
            assert my_rank is not None
            for line, imported in _imports(path):
                where = f"{path.relative_to(REPO)}:{line}"
                if imported.split(".")[0] == "prefect" and me.split(".")[0] in NO_PREFECT:
                    problems.append(f"{where}: {me} imports Prefect")
                their_rank = _rank(imported)
                if their_rank is not None and their_rank > my_rank:
                    problems.append(f"{where}: {me} (layer {my_rank}) imports {imported}")
    return problems


def test_no_lower_layer_imports_a_higher_one() -> None:
    assert _violations() == []


def test_the_check_catches_a_violation() -> None:
    bad = REPO / "socialops" / "_layer_probe.py"
    bad.write_text("from flows import ingest_mentions\nimport prefect\n", encoding="utf-8")
    try:
        problems = _violations()
    finally:
        bad.unlink()
    assert "socialops/_layer_probe.py:1: socialops._layer_probe (layer 0) imports flows" in problems
    assert "socialops/_layer_probe.py:2: socialops._layer_probe imports Prefect" in problems
