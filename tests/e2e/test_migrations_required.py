"""A database whose migrations are behind: the scale-out processes refuse it, and
``/readyz`` says so until ``pagewire migrate`` has run (docs/operations.md)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command

from pagewire.settings import Settings
from pagewire.store.db import Database
from pagewire.store.migrate import alembic_config, current_revision, head_revision, upgrade

pytestmark = pytest.mark.e2e

BEHIND = "0006"  # one migration short of head


def at_revision(database_url: str, revision: str) -> None:
    """The backend's database migrated to ``revision`` exactly (up, then down if need be)."""

    async def move() -> None:
        db = Database(Settings(database_url=database_url).resolved_database_url)
        try:
            await upgrade(db)
            async with db.engine.begin() as conn:
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
            assert await current_revision(db) == revision
        finally:
            await db.close()

    asyncio.run(move())


@pytest.mark.parametrize("process", ["worker", "dispatch"])
def test_worker_and_dispatch_refuse_a_database_with_pending_migrations(
    backend: Any, tmp_path: Path, process: str
) -> None:
    assert head_revision() != BEHIND
    at_revision(backend.url, BEHIND)

    done = subprocess.run(
        [sys.executable, "-m", "pagewire.cli", process],
        env={
            "PATH": "/usr/bin:/bin",
            "PAGEWIRE_DATABASE_URL": backend.url,
            "PAGEWIRE_DATA_DIR": str(tmp_path / "data"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert "the database schema is not current: run `pagewire migrate`" in done.stderr
    assert "Traceback" not in done.stderr

    async def revision() -> str | None:
        db = Database(Settings(database_url=backend.url).resolved_database_url)
        try:
            return await current_revision(db)
        finally:
            await db.close()

    assert asyncio.run(revision()) == BEHIND  # refused, and left as it was: never migrated


async def test_readyz_answers_503_until_the_migrations_are_applied(
    backend: Any, tmp_path: Path
) -> None:
    from pagewire.app import create_app

    await asyncio.to_thread(at_revision, backend.url, BEHIND)
    settings = Settings(database_url=backend.url, data_dir=tmp_path / "data")
    app = create_app(settings, migrate=False)  # as a node started before `pagewire migrate`
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            behind = await client.get("/readyz")
            assert behind.status_code == 503
            assert behind.json() == {"status": "unavailable", "database": "migrations pending"}
            assert (await client.get("/healthz")).status_code == 200  # alive, just not ready

            db = Database(settings.resolved_database_url)
            try:
                await upgrade(db)  # `pagewire migrate`, from elsewhere
            finally:
                await db.close()

            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"status": "ok"}
