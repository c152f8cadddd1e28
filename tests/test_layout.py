"""The layout's rules (docs/dev-conventions.md), checked on the source: which package may import which, no import
cycles, Streamlit only in the dashboard, no SQL built with f-strings, migrations that import nothing of ours."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("core", "queries", "loaders", "dashboard", "pages", "api", "cli", "demo", "bench")
# What each part may import from the project (itself included). Lower layers never import higher ones.
ALLOWED = {
    "core": {"core"},
    "queries": {"core", "queries"},
    "loaders": {"core", "queries", "loaders"},
    "dashboard": {"core", "queries", "loaders", "dashboard"},
    "pages": {"dashboard"},
    "app.py": {"dashboard"},
    "api": {"core", "queries", "loaders", "api"},
    "demo": {"core", "queries", "loaders", "demo"},
    "cli": {"core", "queries", "loaders", "demo", "api", "cli"},
    "bench": {"core", "queries", "loaders", "demo", "bench"},
}
# Statements as this code base writes them (keywords in capitals), not words in a message.
SQL_WORDS = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|"
                       r"CREATE\s+(TEMPORARY\s+)?(TABLE|INDEX|DATABASE|SCHEMA|VIEW)|ALTER\s+TABLE|"
                       r"DROP\s+(TABLE|DATABASE|SCHEMA|INDEX)|COPY\s+\S+.*\bFROM\s+STDIN|TRUNCATE\s)", re.S)


def _sources(*parts: str) -> Iterator[Path]:
    for part in parts:
        path = ROOT / part
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every project module the file imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found.update(n for n in names if n.split(".")[0] in PROJECT)
    return found


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.name


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_is_below_it(part):
    wrong = []
    for path in _sources(part):
        for name in _imports(path):
            if name.split(".")[0] not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_there_are_no_import_cycles():
    modules = {_module(p): p for p in _sources(*PROJECT, "app.py")}
    graph = {}
    for name, path in modules.items():
        # An import of a name from a package counts as an import of the package's module that defines it.
        graph[name] = {m for m in (_resolve(i, modules) for i in _imports(path)) if m and m != name}
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    assert cycles == []


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_only_the_dashboard_imports_streamlit():
    users = [str(p.relative_to(ROOT)) for p in _sources("core", "queries", "loaders", "api", "cli", "demo", "bench")
             if re.search(r"^\s*(import|from) streamlit\b", p.read_text(), re.M)]
    assert users == []


def _fstring_sql(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if SQL_WORDS.search(literal):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
              and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str)
              and SQL_WORDS.search(node.func.value.value)):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} (str.format)")
    return out


def test_no_sql_is_built_with_f_strings():
    found = [hit for p in _sources(*PROJECT, "app.py", "migrations") for hit in _fstring_sql(p)]
    assert found == []


def test_migrations_import_nothing_of_the_project():
    wrong = [f"{p.relative_to(ROOT)} imports {name}" for p in _sources("migrations/versions") for name in _imports(p)]
    assert wrong == []


def test_the_layout_check_sees_a_violation(tmp_path):
    """The checks above would fail on a real violation: a query module importing the dashboard, an f-string."""
    bad = tmp_path / "bad.py"
    bad.write_text('from dashboard.db import database\nsql = f"SELECT * FROM t WHERE id = {1}"\n')
    assert _imports(bad) == {"dashboard.db", "dashboard.db.database"}
    assert SQL_WORDS.search("SELECT * FROM t WHERE id = ")
