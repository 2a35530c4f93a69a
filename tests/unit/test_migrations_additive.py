"""Migrations expand, and contract only a release later (docs/deploy.md, "Upgrades").

While ``pagewire migrate`` runs, and until every node is rolled, the previous
release's nodes work on the new schema: a migration's ``upgrade()`` may add tables,
nullable columns (or ones with a server default), indexes and storage settings, and
nothing that the previous release's statements could trip on. A migration that does
remove or change something (the contract step, once no release still running uses
it) says so in a module-level ``CONTRACTS = "what, and the release that stopped
using it"``, and only then may it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pagewire.store.migrate import MIGRATIONS

VERSIONS = sorted((MIGRATIONS / "versions").glob("[0-9]*.py"))

# Operations that remove or change what the previous release reads or writes.
DESTRUCTIVE_OPS = {
    "drop_table",
    "drop_column",
    "drop_index",
    "drop_constraint",
    "alter_column",
    "rename_table",
}
DESTRUCTIVE_SQL = ("DROP ", "RENAME ", "ALTER COLUMN", " TYPE ", "TRUNCATE", "DELETE ")


def _upgrade(tree: ast.Module) -> ast.FunctionDef:
    [upgrade] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"]
    return upgrade


def _declares_contract(tree: ast.Module) -> bool:
    return any(
        isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "CONTRACTS" for t in n.targets)
        for n in tree.body
    )


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def destructive_steps(source: str) -> list[str]:
    """What ``upgrade()`` in this migration's source does that is not additive."""
    found = []
    for node in ast.walk(_upgrade(ast.parse(source))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        op = node.func.attr
        if op in DESTRUCTIVE_OPS:
            found.append(f"line {node.lineno}: {op}")
        elif op == "execute":
            sql = " ".join(
                c.value
                for c in ast.walk(node)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ).upper()
            found += [f"line {node.lineno}: SQL {w.strip()}" for w in DESTRUCTIVE_SQL if w in sql]
        elif op == "add_column":
            # A NOT NULL column without a server default: the previous release's INSERTs,
            # which do not know it, would fail.
            column = next((a for a in node.args if isinstance(a, ast.Call)), None)
            if column is not None:
                nullable = _keyword(column, "nullable")
                default = _keyword(column, "server_default")
                if (
                    isinstance(nullable, ast.Constant)
                    and nullable.value is False
                    and default is None
                ):
                    found.append(f"line {node.lineno}: add_column NOT NULL without server_default")
    return sorted(found, key=lambda step: int(step.split()[1].rstrip(":")))


@pytest.mark.parametrize("path", VERSIONS, ids=[p.stem for p in VERSIONS])
def test_each_migration_only_adds_unless_it_declares_a_contract(path: Path) -> None:
    source = path.read_text()
    if _declares_contract(ast.parse(source)):
        return  # reviewed as a contract step: the release before stopped using it
    assert destructive_steps(source) == []


def test_the_scan_catches_what_would_break_the_previous_release() -> None:
    """The check itself: each kind of destructive step is named, additive steps are not."""
    source = """
def upgrade():
    op.create_table("t", sa.Column("id", sa.String(), nullable=False))
    op.add_column("jobs", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("jobs", sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
    op.execute("ALTER TABLE jobs SET (fillfactor = 80)")
    op.drop_column("jobs", "old")
    op.add_column("jobs", sa.Column("must", sa.Text(), nullable=False))
    with op.batch_alter_table("endpoints") as batch:
        batch.alter_column("url", type_=sa.Text())
    op.execute("ALTER TABLE jobs RENAME COLUMN a TO b")
"""
    assert destructive_steps(source) == [
        "line 7: drop_column",
        "line 8: add_column NOT NULL without server_default",
        "line 10: alter_column",
        "line 11: SQL RENAME",
    ]
