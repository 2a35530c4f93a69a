"""Token buckets kept in the database, so that a limit holds across processes.

The API's per-organization request limit lives here (``org:<id>``), one row per
bucket in ``rate_buckets``: every API node spends from the same one. A take is one
UPDATE that refills the bucket for the time passed (by the database's clock, the
same for every node), takes a token if a whole one is there, and writes back what
remains; on PostgreSQL it runs alone on the driver (:meth:`Database.run_hot`), with
no transaction around it. Refused, the row is left as it was (refilling it later
from the same point gives the same tokens) and a read says how long until the next
token. A bucket's first take adds its row, full less the token taken. Time is
counted either way: a database clock set back refills a bucket rather than locking
its organization out until the clock has caught up.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from pagewire.store import tables as t
from pagewire.store.db import Database

B = t.rate_buckets.c


class RateBuckets:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sql = db.prepared("rate_buckets", lambda: _BucketSQL(db))

    async def take(self, key: str, per_second: float, burst: float) -> float:
        """Take a token from bucket ``key``: 0 when taken, else the seconds until one is."""
        params = {"b_key": key, "b_rate": per_second, "b_burst": max(burst, 1.0)}
        if await self._take(params):
            return 0.0
        async with self.db.read() as conn:
            row = (await conn.execute(self._sql.tokens, params)).first()
        if row is None:  # never used: add it, full less this request's token
            if await self._add(params):
                return 0.0
            return await self.take(key, per_second, burst)  # another node just added it
        tokens = float(row.tokens)
        if tokens >= 1:  # refilled in between: try again
            return await self.take(key, per_second, burst)
        return (1 - tokens) / per_second

    async def _take(self, params: dict[str, Any]) -> bool:
        if self._sql.hot_take is not None:
            return bool(await self.db.run_hot(self._sql.hot_take, params))
        async with self.db.write() as conn:
            return (await conn.execute(self._sql.take, params)).first() is not None

    async def _add(self, params: dict[str, Any]) -> bool:
        try:
            async with self.db.write() as conn:
                await conn.execute(self._sql.add, params)
            return True
        except exc.IntegrityError:
            return False


class _BucketSQL:
    def __init__(self, db: Database) -> None:
        now = db.now()
        rate: sa.BindParameter[float] = sa.bindparam("b_rate", type_=sa.Double())
        burst: sa.BindParameter[float] = sa.bindparam("b_burst", type_=sa.Double())
        key = B.key == sa.bindparam("b_key", type_=sa.String())
        # abs(): a clock set back (NTP, a restored VM) refills the bucket (at most to
        # its burst) instead of leaving it empty until the clock catches up again.
        refilled = B.tokens + rate * sa.func.abs(now - B.refilled_at)
        tokens = sa.case((refilled < burst, refilled), else_=burst)
        self.take = (
            t.rate_buckets.update()
            .where(key, tokens >= 1)
            .values(tokens=tokens - 1, refilled_at=now)
            .returning(B.tokens)
        )
        self.hot_take = db.hot(self.take) if db.dialect.hot_statements else None
        self.tokens = sa.select(tokens.label("tokens")).where(key)
        self.add = t.rate_buckets.insert().values(
            key=sa.bindparam("b_key", type_=sa.String()), tokens=burst - 1, refilled_at=now
        )
