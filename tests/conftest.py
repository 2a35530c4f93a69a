"""Fixtures every test suite shares.

The ``backend`` fixture runs a test once on SQLite and once on the real PostgreSQL
named by ``PAGEWIRE_TEST_POSTGRES_URL`` (an admin URL: each test gets a fresh
database copied from a migrated template, as procrastinate's suite does).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from support import Backend, Tenant, encryption_env, make_tenant

if TYPE_CHECKING:  # pagewire is imported by the fixtures, after the environment is cleaned
    from pagewire.runtime import Services
    from pagewire.settings import Settings
    from pagewire.store import Store

ROOT = Path(__file__).resolve().parents[1]

# The tests decide their own settings; a developer's PAGEWIRE_* must not leak in.
for _name in list(os.environ):
    if _name.startswith("PAGEWIRE_") and not _name.startswith("PAGEWIRE_TEST_"):
        del os.environ[_name]

POSTGRES_ADMIN_URL = os.environ.get("PAGEWIRE_TEST_POSTGRES_URL", "")

# Under CI=true every dependency a test needs is installed or started by .ci/run, so a
# skip there can only mean one is missing: it fails the run, naming what was missing.
# A test that does not apply to a backend is not generated for it (see
# support.POSTGRES_ONLY), so no skip is ever expected in CI.
IN_CI = os.environ.get("CI") == "true"


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI=true ({reason}): CI must run every test; install or start "
            "what it needs (.ci/run does, through scripts/system-deps.sh)"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Outside CI a skip is allowed, but never quiet: name each one, last."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section("NOT RUN HERE (skipped)", sep="-", yellow=True, bold=True)
    for report in skipped:
        terminalreporter.write_line(f"{report.nodeid or report.fspath}: {_skip_reason(report)}")
    terminalreporter.write_line(
        f"{len(skipped)} test(s) did not run; under CI=true each would fail the run."
    )


def corpus_path() -> Path:
    """The shared real-document corpus (never copied into the repository)."""
    return Path(
        os.environ.get("PAGEWIRE_TEST_CORPUS_DIR", ROOT.parent / "shared" / "corpus")
    ).resolve()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    path = corpus_path()
    if not path.is_dir():
        pytest.skip(f"the shared corpus is not at {path}")
    return path


@pytest.fixture(scope="session")
def sample_pdf() -> Path:
    """The small public-domain filing the project ships for the demo."""
    return ROOT / "samples" / "ca1-appeal-17p.pdf"


# -- databases ----------------------------------------------------------------


def _pg_url(admin_url: str, database: str) -> str:
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database each test copies (CREATE DATABASE ... TEMPLATE)."""
    if not POSTGRES_ADMIN_URL:
        pytest.skip(
            "PostgreSQL tests skipped: PAGEWIRE_TEST_POSTGRES_URL is not set or not reachable"
        )
    name = f"pagewire_tpl_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        from pagewire.store.db import Database
        from pagewire.store.migrate import upgrade

        await _pg_admin(f'CREATE DATABASE "{name}"')
        db = Database(
            _pg_url(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+asyncpg://")
        )
        await upgrade(db)
        await db.close()

    asyncio.run(create())
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")
        return
    template = request.getfixturevalue("pg_template")
    name = f"pagewire_t_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield Backend("postgres", _pg_url(POSTGRES_ADMIN_URL, name))
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings_factory(tmp_path: Path, backend: Backend) -> Callable[..., Settings]:
    from pagewire.settings import Settings

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": backend.url,
            "public_url": "http://testserver",
            "allow_private_urls": True,
            "poll_seconds": 0.2,
            "worker_concurrency": 2,
            "sync_wait_seconds": 10.0,
        }
        values.update(
            {k.removeprefix("PAGEWIRE_").lower(): v for k, v in encryption_env(backend.url).items()}
        )
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The services of a test, on a migrated database (no LISTEN: no loop waits here)."""
    from pagewire.runtime import open_services

    async with open_services(settings, listen=False) as opened:
        yield opened


@pytest.fixture
def store(services: Services) -> Store:
    return services.store


@pytest.fixture
async def tenant(store: Store) -> Tenant:
    return await make_tenant(store, "acme")


@pytest.fixture
async def other_tenant(store: Store) -> Tenant:
    return await make_tenant(store, "globex")


@pytest.fixture
async def api(store: Store, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real API in-process (no worker): requests go through the whole ASGI app."""
    from pagewire.app import create_app

    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def server_far_from_utc() -> Iterator[None]:
    """This process's local time 14 hours ahead of UTC, as on a server in Kiribati.

    A time read as local instead of UTC then lands 14 hours off, which no test
    window of an hour or two can hide.
    """
    import time

    saved = os.environ.get("TZ")
    os.environ["TZ"] = "XXX-14"  # POSIX: 14 hours east of UTC (no zone database needed)
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
