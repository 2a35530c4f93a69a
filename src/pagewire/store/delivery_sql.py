"""The dispatcher's hot statements, built once per dialect.

Building a statement of this size costs SQLAlchemy more than running it, so
each is built once with bind parameters and reused (its compiled form and cache
key are then memoized). Lists of ids are one parameter (:meth:`Dialect.among`).

``choose`` picks the deliveries a claim takes: due, enabled endpoint, not
waiting for an earlier event of the same job to the same endpoint, and at most
``share`` per endpoint, where share = ``per_endpoint`` (or the endpoint's
``rate_limit``, one second's worth, if lower) minus what the caller already
holds for that endpoint (``held``, a JSON object), and for a rate-limited
endpoint no more than the whole tokens in its bucket (:func:`rate_tokens`, kept
in the endpoint's row so that every dispatcher spends from the same one). Both
probe each enabled endpoint's due index, so a claim costs the same however long
one endpoint's backlog is. PostgreSQL does it with a LATERAL subquery under
``FOR UPDATE SKIP LOCKED``, a CTE of the one ``claim`` statement that also
leases, spends the tokens and reads; SQLite (one writer at a time, and no
LATERAL) gathers each endpoint's first candidates as a JSON array and
:func:`pick` finishes the choice in Python, then leases, spends and reads.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from pagewire.store import tables as t
from pagewire.store.dialect import Dialect

E = t.endpoints.c
D = t.deliveries.c
V = t.events.c


class DeliverySQL:
    """``now`` is the database's clock (:meth:`Database.now`), read when a statement runs."""

    def __init__(self, dialect: Dialect, now: sa.ColumnElement[float]) -> None:
        self.dialect = dialect
        if not dialect.writes_in_ctes:
            # SQLite: one writer at a time, and each statement costs microseconds in
            # place: choose (_SQLITE_CHOOSE and pick()), lease, then read what was leased.
            self.choose = _SQLITE_CHOOSE
            self.spend = _SQLITE_SPEND
            self.lease = (
                t.deliveries.update()
                .where(self.dialect.among(D.id))
                .values(_lease_values(sa.bindparam("b_now", type_=sa.Double())))
            )
            self.claimed = (
                sa.select(*_delivery_columns(t.deliveries), *_attempt_columns())
                .select_from(
                    t.deliveries.join(t.events, V.id == D.event_id).join(
                        t.endpoints, E.id == D.endpoint_id
                    )
                )
                .where(self.dialect.among(D.id))
            )
        else:
            self.claim = self._claim(now)

    def _claim(self, now: sa.ColumnElement[float]) -> Any:
        """PostgreSQL: choose, lock, lease and read the claimed deliveries in one statement.

        One round trip where there were six (with BEGIN, the clock and COMMIT): a
        claim runs while the dispatcher's requests are in flight, and each round
        trip costs it CPU. The rows chosen reach the UPDATE as an array
        (``= ANY(ARRAY(...))``), so it probes the primary key whatever the planner
        knows of the table. Its last column is the clock it used.
        """
        clock = sa.select(now.label("now")).cte("clock")
        at = sa.select(clock.c.now).scalar_subquery()
        limited = self._pg_limited(at)
        chosen = self._pg_choose(at, limited).cte("chosen")
        leased = (
            t.deliveries.update()
            .where(D.id == sa.any_(sa.func.array(sa.select(chosen.c.id).scalar_subquery())))
            .values(_lease_values(at))
            .returning(*_delivery_columns(t.deliveries))
            .cte("leased")
        )
        taken = (
            sa.select(leased.c.endpoint_id, sa.func.count().label("n"))
            .group_by(leased.c.endpoint_id)
            .subquery("taken")
        )
        spent = (
            t.endpoints.update()
            .where(E.id == limited.c.id, E.id == taken.c.endpoint_id)
            .values(rate_tokens=limited.c.tokens - taken.c.n, rate_refilled_at=at)
            .returning(E.id)
            .cte("spent")
        )
        return (
            sa.select(*_delivery_columns(leased), *_attempt_columns(), clock.c.now)
            .select_from(
                leased.join(t.events, V.id == leased.c.event_id)
                .join(t.endpoints, E.id == leased.c.endpoint_id)
                .join(clock, sa.true())
            )
            .add_cte(spent)
        )

    def _pg_limited(self, now: sa.ColumnElement[float]) -> Any:
        """The rate-limited endpoints' buckets, refilled to ``now``, locked for this claim.

        Locked so that two dispatchers' claims cannot spend the same tokens: a
        row locked by another claim is skipped (its endpoint gets nothing from
        this claim), and a locked row is read as last committed, not as of the
        statement's snapshot.
        """
        return (
            sa.select(E.id.label("id"), rate_tokens(E, now).label("tokens"))
            .where(E.enabled.is_(True), E.rate_limit.is_not(None))
            .with_for_update(skip_locked=True)
            .cte("limited")
        )

    def _held(self) -> sa.ColumnElement[Any]:
        """How many deliveries to this endpoint the caller holds, from ``held``."""
        held = sa.bindparam("held", type_=sa.Text)
        return sa.func.coalesce(sa.cast(sa.cast(held, JSONB)[E.id].astext, sa.Integer), 0)

    def _pg_choose(self, now: sa.ColumnElement[float], limited: Any) -> Any:
        d = t.deliveries.alias("d")
        earlier = t.deliveries.alias("earlier")
        # Found through ix_deliveries_pending_order by job_id. The endpoint is compared
        # through coalesce() on purpose: a plain equality would put earlier.endpoint_id
        # in the same class as endpoints.id, and a planner without statistics (a new
        # or fast-growing table) then reads the endpoint's whole backlog per candidate.
        waits_for_earlier = sa.exists().where(
            earlier.c.status == "pending",
            earlier.c.job_id.is_not(None),
            earlier.c.job_id == d.c.job_id,
            sa.func.coalesce(earlier.c.endpoint_id, "") == d.c.endpoint_id,
            earlier.c.sequence < d.c.sequence,
        )
        due = (*due_now(d.c, now), ~waits_for_earlier)
        per_endpoint = sa.bindparam("per_endpoint", type_=sa.Integer())
        # A rate-limited endpoint holds one second's worth at most: more would only
        # wait for their tokens, in slots the other endpoints could use. And it takes
        # no more than the whole tokens in its bucket, shared by every dispatcher.
        cap = sa.case((E.rate_limit < per_endpoint, E.rate_limit), else_=per_endpoint)
        # least() passes over the NULL tokens of an endpoint without a rate limit.
        share = sa.func.least(
            cap - self._held(), sa.cast(sa.func.floor(limited.c.tokens), sa.Integer)
        )
        # Endpoints with no room are filtered before the probe, so LIMIT stays >= 1.
        per = (
            sa.select(d.c.id, d.c.next_attempt_at)
            .where(d.c.endpoint_id == E.id, *due)
            .order_by(d.c.next_attempt_at)
            .limit(share)
            .with_for_update(skip_locked=True, of=d)
            .lateral("per_endpoint")
        )
        return (
            sa.select(per.c.id)
            .select_from(t.endpoints.outerjoin(limited, limited.c.id == E.id).join(per, sa.true()))
            .where(
                E.enabled.is_(True),
                # a rate-limited endpoint whose bucket another claim holds: none this time
                sa.or_(E.rate_limit.is_(None), limited.c.id.is_not(None)),
                share > 0,
            )
            .order_by(per.c.next_attempt_at)
            .limit(sa.bindparam("limit", type_=sa.Integer()))
        )


def rate_tokens(e: Any, now: Any) -> sa.ColumnElement[float]:
    """An endpoint's tokens at ``now``: what was left, refilled at ``rate_limit`` a
    second for the time since, up to one second's worth (a never-used bucket is full)."""
    limit = sa.cast(e.rate_limit, sa.Double)
    refilled = sa.func.coalesce(e.rate_tokens, limit) + limit * (
        now - sa.func.coalesce(e.rate_refilled_at, now)
    )
    return sa.case((refilled < limit, refilled), else_=limit)


def due_now(c: Any, now: Any) -> list[sa.ColumnElement[bool]]:
    """A delivery due at ``now``: pending, its time come, and under no live lease."""
    return [
        c.status == "pending",
        c.next_attempt_at <= now,
        sa.or_(c.lease_expires_at.is_(None), c.lease_expires_at <= now),
    ]


def _lease_values(now: sa.ColumnElement[float]) -> dict[str, Any]:
    """A lease: its token, its end, and one more attempt. No indexed column (HOT)."""
    return {
        "lease_token": sa.bindparam("b_token"),
        "lease_expires_at": now + sa.bindparam("b_lease_seconds", type_=sa.Double()),
        "attempts": D.attempts + 1,
        "updated_at": now,
    }


def _delivery_columns(table: Any) -> list[Any]:
    c = table.c
    return [c.id, c.event_id, c.endpoint_id, c.org_id, c.job_id, c.sequence, c.attempts]


def _attempt_columns() -> list[Any]:
    """What else an attempt needs: the event's payload and the endpoint's settings."""
    return [
        V.type,
        V.created_at,
        sa.cast(V.payload, sa.Text).label("body"),
        E.url,
        # As text: an endpoint's headers are the same in every row it has, so the
        # claim parses each distinct value once (endpoint_headers), not once a row.
        sa.cast(E.headers, sa.Text).label("headers"),
        E.rate_limit,
        E.secret,
        E.previous_secret,
        E.previous_secret_expires_at,
    ]


# SQLite lets a subquery in FROM see the outer row only in its WHERE (not in its
# LIMIT), hence the fixed LIMIT and the trimming to each share in pick().
_SQLITE_CHOOSE = sa.text(
    """
    SELECT e.id AS endpoint_id, tokens, share, (
        SELECT json_group_array(json_array(x.id, x.next_attempt_at)) FROM (
            SELECT d.id, d.next_attempt_at FROM deliveries AS d
            WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= :now
              AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= :now)
              AND NOT EXISTS (
                SELECT 1 FROM deliveries AS earlier
                WHERE earlier.status = 'pending' AND earlier.job_id IS NOT NULL
                  AND earlier.job_id = d.job_id
                  AND coalesce(earlier.endpoint_id, '') = d.endpoint_id
                  AND earlier.sequence < d.sequence)
            ORDER BY d.next_attempt_at LIMIT :per_endpoint) AS x
    ) AS candidates
    FROM (
        SELECT e.*, CASE WHEN tokens IS NULL THEN base
                         ELSE min(base, CAST(tokens AS INTEGER)) END AS share
        FROM (
            SELECT e.*, min(coalesce(e.rate_limit, :per_endpoint), :per_endpoint)
                        - coalesce(json_extract(:held, '$."' || e.id || '"'), 0) AS base,
                   CASE WHEN e.rate_limit IS NOT NULL THEN min(
                       e.rate_limit,
                       coalesce(e.rate_tokens, e.rate_limit)
                       + e.rate_limit * (:now - coalesce(e.rate_refilled_at, :now))
                   ) END AS tokens
            FROM endpoints AS e WHERE e.enabled
        ) AS e
    ) AS e
    WHERE share > 0
    """
)

# SQLite: what a claim took from a rate-limited endpoint's bucket (rate_tokens()).
_SQLITE_SPEND = sa.text(
    "UPDATE endpoints SET rate_tokens = :tokens, rate_refilled_at = :now WHERE id = :endpoint_id"
)


def pick(rows: Any, limit: int) -> tuple[list[str], list[dict[str, Any]]]:
    """SQLite: each endpoint's candidates cut to its share, then the oldest due first.

    Returns the chosen ids, and the parameters of ``spend`` for each rate-limited
    endpoint they came from (its bucket less what was taken).
    """
    candidates: list[tuple[float, str, int]] = []
    endpoints = list(rows)
    for index, row in enumerate(endpoints):
        found = json.loads(row.candidates or "[]")[: max(0, int(row.share))]
        candidates.extend((due, delivery_id, index) for delivery_id, due in found)
    candidates.sort()
    chosen = candidates[:limit]
    taken = Counter(index for _, _, index in chosen)
    spent = [
        {"endpoint_id": endpoints[index].endpoint_id, "tokens": endpoints[index].tokens - n}
        for index, n in taken.items()
        if endpoints[index].tokens is not None
    ]
    return [delivery_id for _, delivery_id, _ in chosen], spent
