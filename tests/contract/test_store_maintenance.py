"""What keeps a busy queue fast: its tables are vacuumed early, and an operator is told
when PostgreSQL will not vacuum at all."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.blobs import LocalBlobStore
from pagewire.worker.loop import Worker


async def test_the_queue_tables_are_vacuumed_early_on_postgresql(store: Any) -> None:
    if store.db.dialect.name == "sqlite":
        assert await store.db.autovacuum_on()  # nothing to vacuum: rows change in place
        return
    async with store.db.read() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT relname, reloptions FROM pg_class "
                "WHERE relname IN ('jobs', 'deliveries') ORDER BY relname"
            )
        )
        options = {name: set(opts or []) for name, opts in rows}
    for table in ("deliveries", "jobs"):
        assert "autovacuum_vacuum_scale_factor=0.01" in options[table], options
        assert "autovacuum_analyze_scale_factor=0.02" in options[table], options


async def test_a_worker_warns_when_postgresql_will_not_vacuum(
    store: Any, settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def off() -> bool:
        return False

    store.db.autovacuum_on = off  # as on a server started with autovacuum = off
    worker = Worker(store, LocalBlobStore(tmp_path / "blobs"), settings, concurrency=1)
    with caplog.at_level(logging.WARNING, logger="pagewire.worker.loop"):
        task = asyncio.create_task(worker.run())

        async def warned() -> None:  # at start, before its first claim
            while not any("autovacuum" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(warned(), 10)
        worker.stop()
        await asyncio.wait_for(task, 10)

    [warning] = [r for r in caplog.records if "autovacuum" in r.getMessage()]
    assert "docs/operations.md" in warning.getMessage()
