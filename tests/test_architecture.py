"""The layout's rules, checked on the source: layers import one way, each seam holds.

docs/architecture.md draws the picture these rules keep true. The tests read the
modules' import statements with ``ast`` (including imports inside functions and
under ``TYPE_CHECKING``) and never import the modules, so a failure names the
module, the line and the import that broke the rule.

When one fails, move the code rather than the rule: the few imports that cross a
layer on purpose are drawn in docs/architecture.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "pagewire"
MIGRATIONS = PACKAGE / "store" / "migrations"

MAX_MODULE_LINES = 450
MAX_LOOSE_MODULES = 10  # at the package root, besides __init__.py

SQL_LIBRARIES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "alembic")
BACKEND_NAMES = ("sqlite", "postgres")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def where(self) -> str:
        return str(self.path.relative_to(SRC.parent))

    def within(self, *packages: str) -> bool:
        return any(_within(self.name, p) for p in packages)

    @property
    def tree(self) -> ast.Module:
        return _parse(self.path)


@dataclass(frozen=True)
class Import:
    module: Module
    target: str  # absolute and dotted: ``pagewire.api.deps``, ``pagewire.runtime.Services``
    line: int

    def __str__(self) -> str:
        return f"{self.module.name} ({self.module.where}:{self.line}) imports {self.target}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _modules() -> list[Module]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(Module(".".join(parts), path))
    return found


def _imports(module: Module) -> Iterator[Import]:
    """Every import statement of ``module``, one :class:`Import` per name it binds."""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                target = base if alias.name == "*" else f"{base}.{alias.name}"
                yield Import(module, target, node.lineno)


def _imports_of(*packages: str) -> Iterator[Import]:
    for module in _modules():
        if module.within(*packages):
            yield from _imports(module)


def _report(rule: str, broken: list[str]) -> str:
    return f"{rule}:\n  " + "\n  ".join(broken)


def test_the_rules_read_the_whole_package() -> None:
    # Every rule below passes on an empty list: make sure the package was found.
    names = {module.name for module in _modules()}
    assert {"pagewire.api.deps", "pagewire.store.dialect", "pagewire.client._async.client"} <= names
    assert any(_imports(Module("pagewire.app", PACKAGE / "app.py")))


def test_sql_is_written_only_in_the_store() -> None:
    broken = [
        str(imp)
        for module in _modules()
        if not module.within("pagewire.store")
        for imp in _imports(module)
        if imp.target.split(".")[0] in SQL_LIBRARIES or _within(imp.target, "pagewire.store.tables")
    ]
    assert not broken, _report("SQL belongs in pagewire.store (use or add a store method)", broken)


def _backend_branches(module: Module) -> Iterator[str]:
    """Where ``module`` asks which database it runs on."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith(("is_sqlite", "is_postgres")):
                yield f"{module.where}:{node.lineno} asks {name}"
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "name"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "dialect"
            ):
                yield f"{module.where}:{node.lineno} reads dialect.name"
        elif isinstance(node, ast.Compare | ast.Call):
            for operand in _compared(node):
                if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                    if operand.value.lower().startswith(BACKEND_NAMES):
                        yield f"{module.where}:{node.lineno} compares with {operand.value!r}"


def _compared(node: ast.Compare | ast.Call) -> list[ast.expr]:
    """What ``a == b``, ``a in b`` or ``a.startswith(b)`` compares."""
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    if isinstance(node.func, ast.Attribute) and node.func.attr in ("startswith", "endswith"):
        return list(node.args)
    return []


def test_every_backend_difference_lives_in_the_dialect() -> None:
    # Migrations are history, written once per schema change and never edited: they
    # branch on the connection they run on, as Alembic's own recipes do.
    broken = sorted(
        {
            found
            for module in _modules()
            if module.name != "pagewire.store.dialect"
            and not module.path.is_relative_to(MIGRATIONS)
            for found in _backend_branches(module)
        }
    )
    assert not broken, _report(
        "SQLite/PostgreSQL differences belong in pagewire.store.dialect (one class each)", broken
    )


def _route_modules() -> set[str]:
    """The API modules that declare routes: they build an APIRouter or decorate with one."""
    routes = set()
    for module in _modules():
        if not module.within("pagewire.api"):
            continue
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
                == "APIRouter"
            ):
                routes.add(module.name)
    return routes


def test_the_api_never_imports_the_portal_or_the_app() -> None:
    broken = [
        str(imp)
        for imp in _imports_of("pagewire.api")
        if _within(imp.target, "pagewire.portal") or _within(imp.target, "pagewire.app")
    ]
    assert not broken, _report("the API sits below the portal and the app", broken)


def test_the_portal_uses_only_the_apis_shared_pieces() -> None:
    routes = _route_modules()
    # The rule judges something: the API's routers are found.
    assert {"pagewire.api.jobs", "pagewire.api.webhooks"} <= routes
    broken = [
        str(imp)
        for imp in _imports_of("pagewire.portal")
        if _within(imp.target, "pagewire.app") or any(_within(imp.target, r) for r in routes)
    ]
    assert not broken, _report(
        "the portal may use api.deps and the API's schemas and checks, never a route module",
        broken,
    )


def test_the_sdk_imports_only_itself_the_kernel_and_the_version() -> None:
    broken = [
        str(imp)
        for imp in _imports_of("pagewire.client")
        if _within(imp.target, "pagewire")
        and not _within(imp.target, "pagewire.client")
        and not _within(imp.target, "pagewire.kernel")
        and imp.target != "pagewire.__version__"
    ]
    assert not broken, _report("the SDK must work without the server installed", broken)


@pytest.mark.parametrize("package", ["pagewire.kernel", "pagewire.extract"])
def test_the_kernel_and_the_extractor_stand_alone(package: str) -> None:
    broken = [
        str(imp)
        for imp in _imports_of(package)
        if _within(imp.target, "pagewire") and not _within(imp.target, package)
    ]
    assert not broken, _report(f"{package} imports nothing else of pagewire", broken)


ENTRY_POINTS = ("pagewire.cli", "pagewire.app", "pagewire.runtime")
HTTP = ("pagewire.api", "pagewire.portal")


@pytest.mark.parametrize(
    ("layer", "above"),
    [
        ("pagewire.store", (*HTTP, "pagewire.worker", "pagewire.dispatch", *ENTRY_POINTS)),
        ("pagewire.worker", (*HTTP, "pagewire.dispatch", *ENTRY_POINTS)),
        ("pagewire.dispatch", (*HTTP, "pagewire.worker", *ENTRY_POINTS)),
        (
            "pagewire.blobs",
            ("pagewire.store", *HTTP, "pagewire.worker", "pagewire.dispatch", *ENTRY_POINTS),
        ),
    ],
)
def test_lower_layers_never_import_upper_ones(layer: str, above: tuple[str, ...]) -> None:
    broken = [str(imp) for imp in _imports_of(layer) if any(_within(imp.target, a) for a in above)]
    assert not broken, _report(f"{layer} must not import {', '.join(above)}", broken)


def test_app_state_is_read_only_through_api_deps() -> None:
    broken = [
        f"{module.where}:{node.lineno} uses app.state"
        for module in _modules()
        if module.name != "pagewire.api.deps"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "state"
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "app")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "app")
        )
    ]
    assert not broken, _report("take the Services as a parameter (api.deps.ServicesDep)", broken)


def test_no_module_is_longer_than_the_limit() -> None:
    broken = [
        f"{module.where}: {lines} lines"
        for module in _modules()
        if not module.path.is_relative_to(MIGRATIONS)
        and (lines := len(module.path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not broken, _report(f"split modules over {MAX_MODULE_LINES} lines by role", broken)


def test_the_package_root_stays_short() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_LOOSE_MODULES, _report(
        f"at most {MAX_LOOSE_MODULES} loose modules at the root; group them by role", loose
    )
