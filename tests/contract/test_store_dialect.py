"""The dialect's contract: a list or a batch of any length is one parameter, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.models import JobInput, NewJob
from pagewire.store import tables as t

COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("name", sa.Text()),
    ("count", sa.Integer()),
    ("score", sa.Double()),
]


@pytest.mark.parametrize("size", [1, 3, 40])
async def test_a_batch_of_rows_comes_back_as_given_whatever_its_size(store: Any, size: int) -> None:
    dialect = store.db.dialect
    rows = [(f"row {i}", i, i / 4 if i % 2 else None) for i in range(size)]
    given = dialect.rows_table("given", COLUMNS)
    query = sa.select(given.c.name, given.c.count, given.c.score)

    async with store.db.read() as conn:
        found = (await conn.execute(query, dialect.rows_param(COLUMNS, rows))).all()

    assert sorted(tuple(r) for r in found) == sorted(rows)


async def test_among_finds_exactly_the_listed_ids(store: Any, tenant: Any) -> None:
    ids = []
    for _ in range(4):
        job, _ = await store.jobs.enqueue(
            NewJob(tenant.org_id, JobInput(None, None, None, None, None, None), {}, {})
        )
        ids.append(job.id)
    query = sa.select(t.jobs.c.id).where(store.db.dialect.among(t.jobs.c.id))

    async with store.db.read() as conn:
        found = [
            set((await conn.execute(query, {"ids": wanted})).scalars())
            for wanted in ([], ids[:1], ids[1:3], [*ids, "job_missing"])
        ]

    assert found == [set(), {ids[0]}, set(ids[1:3]), set(ids)]
