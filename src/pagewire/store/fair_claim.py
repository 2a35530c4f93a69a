"""Which pending jobs a claim takes: a fair share for every organization with work.

A claim of ``n`` jobs does not take the ``n`` oldest of the highest priority (one
organization's backlog of 100,000 would hold back everyone else's until it drained)
but deals jobs to organizations in turns, fewest running first: an organization's
``k``-th pending job (in its own priority order, then submission order) gets the
turn ``running + k``, where ``running`` is how many of its jobs are processing now,
and the claim takes the lowest turns (ties: higher priority, then older). So an
organization with nothing running is served before one with many, a claim of one
job is as fair as a claim of fifty, and priority still orders each organization's
own jobs. ``org_cap`` (``PAGEWIRE_ORG_CONCURRENCY``, 0: none) stops dealing to an
organization once ``running + k`` would pass it.

The cost stays that of a probe per organization with pending work, however long
anyone's backlog: the organizations are found by skipping through
``ix_jobs_pending_org`` (a recursive CTE that asks for the next org_id, once per
organization), each one's first candidates come from the same index, and its
running jobs are counted in ``ix_jobs_running_org`` (processing rows only).

PostgreSQL reads each organization's candidates in a LATERAL subquery under
``FOR UPDATE SKIP LOCKED`` (concurrent claims never wait for one another), in the
claim's one UPDATE statement. SQLite (one writer at a time, no LATERAL) gathers each
organization's candidates as a JSON array and :func:`pick` deals them in Python, as
the dispatcher's claim does (:mod:`pagewire.store.delivery_sql`).

With a cap, a PostgreSQL claim first locks the rows in ``organizations`` of the
organizations it will deal to (``lock_orgs``, skipping those another claim holds),
then claims in a second statement: it reads the running jobs after the previous
holder committed, so two claims cannot both see room for the same last slot. The
lock is ``FOR NO KEY UPDATE``, which the foreign-key checks of concurrent
submissions (``FOR KEY SHARE``) neither wait for nor block.

A split job waiting for its shards (``processing`` without a lease, store/shards.py)
runs nothing and is not counted: its shards take its organization's turns.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from pagewire.store import tables as t

# The organizations with pending jobs: one index probe each (a "skip scan").
_ACTIVE = """
    active(org_id) AS (
        SELECT min(org_id) FROM jobs WHERE status = 'pending'
        UNION ALL
        SELECT (SELECT min(j.org_id) FROM jobs AS j
                WHERE j.status = 'pending' AND j.org_id > active.org_id)
        FROM active WHERE active.org_id IS NOT NULL
    ),
    counted(org_id, running) AS (
        SELECT a.org_id, (SELECT count(*) FROM jobs AS r
                          WHERE r.org_id = a.org_id AND r.status = 'processing'
                            AND r.lease_token IS NOT NULL)
        FROM active AS a
        WHERE a.org_id IS NOT NULL
    ),
    orgs(org_id, running, room) AS (
        SELECT org_id, running,
               CASE WHEN :org_cap > 0 THEN min_of(:claim_limit, :org_cap - running)
                    ELSE :claim_limit END
        FROM counted
    )
"""

_PG_CHOOSE = (
    "WITH RECURSIVE"
    + _ACTIVE.replace("min_of(", "least(").replace(
        "WHERE a.org_id IS NOT NULL",
        "WHERE a.org_id IS NOT NULL AND (CAST(:claim_orgs AS varchar[]) IS NULL"
        " OR a.org_id = ANY(CAST(:claim_orgs AS varchar[])))",
    )
    + """,
    ranked AS (
        SELECT c.id, c.priority,
               o.running + row_number() OVER (
                   PARTITION BY o.org_id ORDER BY c.priority DESC, c.id) AS turn
        FROM (SELECT * FROM orgs WHERE room > 0) AS o
        CROSS JOIN LATERAL (
            SELECT j.id, j.priority FROM jobs AS j
            WHERE j.org_id = o.org_id AND j.status = 'pending'
            ORDER BY j.priority DESC, j.id
            LIMIT o.room
            FOR UPDATE SKIP LOCKED
        ) AS c
    )
    SELECT id FROM ranked ORDER BY turn, priority DESC, id LIMIT :claim_limit
"""
)

# SQLite lets a subquery see the outer row only in its WHERE (not in its LIMIT),
# hence the LIMIT of the whole claim and the trimming to each room in pick().
_SQLITE_CHOOSE = (
    "WITH RECURSIVE"
    + _ACTIVE.replace("min_of(", "min(")
    + """
    SELECT org_id, running, room, (
        SELECT json_group_array(json_array(x.id, x.priority)) FROM (
            SELECT j.id, j.priority FROM jobs AS j
            WHERE j.org_id = orgs.org_id AND j.status = 'pending'
            ORDER BY j.priority DESC, j.id LIMIT :claim_limit) AS x
    ) AS candidates
    FROM orgs WHERE room > 0
"""
)

_PG_LOCK_ORGS = (
    "WITH RECURSIVE"
    + _ACTIVE.replace("min_of(", "least(")
    + """
    SELECT o.id FROM organizations AS o
    WHERE o.id IN (SELECT org_id FROM orgs WHERE room > 0)
    FOR NO KEY UPDATE OF o SKIP LOCKED
"""
)

_PARAMS = (
    sa.bindparam("claim_limit", type_=sa.Integer()),
    sa.bindparam("org_cap", type_=sa.Integer()),
)


def pg_choose() -> Any:
    """PostgreSQL: the ids a claim takes, locked, as a subquery of the claim's UPDATE."""
    return (
        sa.text(_PG_CHOOSE)
        .bindparams(*_PARAMS, sa.bindparam("claim_orgs", value=None))
        .columns(sa.column("id", t.Id))
        .scalar_subquery()
    )


def pg_lock_orgs() -> Any:
    """PostgreSQL, with a cap: the organizations this claim deals to, their rows locked."""
    return sa.text(_PG_LOCK_ORGS).bindparams(*_PARAMS).columns(sa.column("id", t.Id))


def sqlite_choose() -> Any:
    """SQLite: each organization with room, its running jobs and first candidates."""
    return sa.text(_SQLITE_CHOOSE).bindparams(*_PARAMS)


def pick(rows: Any, limit: int) -> list[str]:
    """SQLite: deal the candidates in turns (fewest running first), the first ``limit``."""
    dealt: list[tuple[int, int, str]] = []
    for row in rows:
        candidates = json.loads(row.candidates or "[]")[: max(0, int(row.room))]
        for k, (job_id, priority) in enumerate(candidates, start=1):
            dealt.append((int(row.running) + k, -int(priority), job_id))
    dealt.sort()
    return [job_id for _, _, job_id in dealt[:limit]]
