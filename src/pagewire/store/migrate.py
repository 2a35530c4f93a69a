"""Schema migrations (Alembic), applied by ``pagewire migrate`` and at ``pagewire serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pagewire.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def upgrade(db: Database) -> None:
    current = await current_revision(db)
    if current is not None and current not in known_revisions():
        return  # a later release migrated it already (see is_behind)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def is_current(db: Database) -> bool:
    return await current_revision(db) == head_revision()


async def is_behind(db: Database) -> bool:
    """This build has migrations the database lacks (``pagewire migrate`` applies them).

    A revision this build does not know is a later release's: the database is ahead.
    A release's migrations only add (docs/deploy.md, "Upgrades"), so this build keeps
    running on it, and may restart, while the nodes are rolled to the new release.
    """
    current = await current_revision(db)
    return current != head_revision() and (current is None or current in known_revisions())
