"""SQLite runs on the event loop's thread: another process's write must not stop the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa

from pagewire.store.db import Database


async def test_a_write_waits_for_another_writer_while_the_loop_keeps_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    db = Database(f"sqlite:///{path}")
    async with db.write() as conn:
        await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))

    # Another process's writer (a second connection in a thread) holds the write lock
    # until this event loop lets it go: were our write to block the loop while it
    # waits for the lock, the loop could never let it go, and our write would fail.
    held, release = threading.Event(), threading.Event()
    order: list[str] = []

    def other_writer() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        held.set()
        release.wait(30)
        order.append("theirs committed")
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    await asyncio.to_thread(held.wait, 5)

    async def our_write() -> None:
        async with db.write() as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
        order.append("ours committed")

    writing = asyncio.create_task(our_write())
    for _ in range(20):  # the loop runs on while our write waits for the lock
        await asyncio.sleep(0)
    assert not writing.done()
    order.append("the loop ran meanwhile")
    release.set()
    await asyncio.wait_for(writing, 30)
    thread.join()

    async with db.read() as conn:
        rows = sorted(x for (x,) in await conn.execute(sa.text("SELECT x FROM t")))
    await db.close()
    assert rows == [1, 2]  # both writes landed
    assert order == ["the loop ran meanwhile", "theirs committed", "ours committed"]


async def test_a_failed_write_rolls_back_and_the_connection_is_usable_again(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    async with db.write() as conn:
        await conn.execute(sa.text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
    try:
        async with db.write() as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))  # duplicate key
    except sa.exc.IntegrityError:
        pass
    async with db.write() as conn:
        await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
    async with db.read() as conn:
        rows = [x for (x,) in await conn.execute(sa.text("SELECT x FROM t"))]
    await db.close()
    assert rows == [2]


async def test_the_wal_is_checkpointed_off_the_loop_so_it_stays_small(tmp_path: Path) -> None:
    from pagewire.store import sqlite_inloop

    path = tmp_path / "busy.db"
    db = Database(f"sqlite:///{path}")
    async with db.write() as conn:
        await conn.execute(sa.text("CREATE TABLE t (x BLOB)"))
    commits = 5 * sqlite_inloop.CHECKPOINT_EVERY
    for _ in range(commits):  # ~12 KB of log a commit: unchecked, the WAL holds it all
        async with db.write() as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (randomblob(4000))"))
        await asyncio.sleep(0)  # as a server's loop does between requests
    async with db.write() as conn:
        await conn.execute(sa.text("INSERT INTO t VALUES (randomblob(4000))"))
    wal = path.with_name(path.name + "-wal").stat().st_size
    async with db.read() as conn:
        count = (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar_one()
    await db.close()
    assert count == commits + 1
    # Started over after each checkpoint: about CHECKPOINT_EVERY commits' worth of log
    # at most, where 1,000 unchecked commits left 12 MB here.
    assert wal < commits * 4000, wal


async def test_many_transactions_open_at_once_never_wait_for_a_pooled_connection(
    tmp_path: Path,
) -> None:
    # A pool that blocked for a free connection would stop the event loop, and with it
    # the transactions that would free one: this must finish, not hang.
    db = Database(f"sqlite:///{tmp_path / 'many.db'}")
    release = asyncio.Event()

    async def reader() -> int:
        async with db.read() as conn:
            await release.wait()  # hold the connection across an await
            return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())

    readers = [asyncio.create_task(reader()) for _ in range(40)]
    for _ in range(5):  # every reader now holds its connection, awaiting ``release``
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*readers), 10)
    await db.close()
    assert results == [1] * 40
