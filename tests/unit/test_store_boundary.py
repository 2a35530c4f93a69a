"""The store is the only SQL: nothing outside ``pagewire.store`` builds a statement, and
nothing outside its dialect module asks which database it runs on."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pagewire"
STORE = SRC / "store"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def outside_the_store() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if STORE not in p.parents]


def test_no_module_outside_the_store_builds_sql() -> None:
    reaching_in = {
        str(path.relative_to(SRC)): sorted(
            name
            for name in imported_modules(path)
            if name == "sqlalchemy"
            or name.startswith("sqlalchemy.")
            or name == "pagewire.store.tables"
        )
        for path in outside_the_store()
    }

    assert {path: names for path, names in reaching_in.items() if names} == {}


def test_only_the_dialect_module_tells_sqlite_from_postgresql() -> None:
    asking = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path != STORE / "dialect.py" and "is_sqlite" in path.read_text()
    ]

    assert asking == []
