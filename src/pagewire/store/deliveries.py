"""The dispatcher's side of the outbox: claim due deliveries, record attempts, release.

A claimed delivery stays ``pending`` and due; only its lease (a token and an
expiry) is set, and a claim skips deliveries under a live lease. So a dispatcher
that dies mid-delivery loses nothing: the delivery is claimed again when the
lease runs out (at least once, with the same ``webhook-id``). Recording is
guarded by the lease token. The lease writes no indexed column, so on
PostgreSQL it is a HOT update (migration 0006 leaves room in each page for it):
no index entries, where moving the due time wrote six.

Order per job: a delivery is not claimed while an earlier one (lower
``sequence``) of the same job to the same endpoint is still pending. A delivery
that failed for good releases the later ones: a dead endpoint must not hold a
job's later events forever, and the payload's ``sequence`` lets receivers see
the gap.

Fairness: each claim takes at most ``per_endpoint`` deliveries per endpoint
(PostgreSQL: a LATERAL probe per endpoint with ``FOR UPDATE SKIP LOCKED``;
SQLite: a window over the due rows, under the write lock), so one endpoint's
backlog never fills a claim.

Secrets and custom header values come out of the claim sealed; they are opened
here, in memory (:class:`~pagewire.encryption.SecretBox` keeps what it opened, so
an endpoint's values are decrypted once, not once per delivery).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.models import AttemptRecord, Backlog, ClaimedDelivery, Verdict
from pagewire.security.encryption import SecretBox, secret_context
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.delivery_sql import DeliverySQL, due_now, pick
from pagewire.store.webhooks import disable_endpoint, endpoint_from_row, opened_headers

E = t.endpoints.c
D = t.deliveries.c
V = t.events.c

RESPONSE_BODY_LIMIT = 4096

# What a batch of attempt records carries into its statements (Dialect.rows_table).
_ATTEMPT_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("attempt_id", t.Id),
    ("delivery_id", t.Id),
    ("token", sa.String(40)),
    ("status_code", sa.Integer()),
    ("latency_ms", sa.Double()),
    ("response_body", sa.Text()),
    ("error", sa.Text()),
    ("error_detail", sa.Text()),
    ("next_status", sa.String(16)),
    ("retry_in", sa.Double()),
    ("last_error", sa.Text()),
]
_NEXT_STATUS: dict[Verdict, str] = {
    "succeeded": "succeeded",
    "retry": "pending",
    "failed": "failed",
    "disable": "failed",
}


@functools.lru_cache(maxsize=1024)
def endpoint_headers(box: SecretBox, endpoint_id: str, text: str | None) -> Mapping[str, str]:
    """An endpoint's custom headers, opened, from their JSON text; one shared, read-only
    mapping per distinct value (the dispatcher copies them into each request)."""
    return MappingProxyType(opened_headers(box, endpoint_id, json.loads(text) if text else {}))


def _last_error(record: AttemptRecord) -> str | None:
    """What the delivery shows as its last error."""
    if record.verdict == "retry":
        return record.error or (f"HTTP {record.status_code}" if record.status_code else None)
    return record.reason or record.error


class DeliveryStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        self.sql = DeliverySQL(db.dialect, now=db.now())
        self._recording = self._record_statements()
        # PostgreSQL runs the claim, and the record of a batch that all succeeded, on
        # the driver: each is one statement, atomic alone (store/driver.py).
        hot = db.dialect.hot_statements
        self._hot_claim = db.hot(self.sql.claim) if hot else None
        self._hot_record = db.hot(self._recording[0]) if hot else None

    def _record_statements(self) -> list[Any]:
        """The statements that record a batch of attempts, built once.

        PostgreSQL runs them as one (the delivery and endpoint updates as CTEs of
        the attempts' INSERT): a single round trip for a batch whose attempts all
        succeeded. SQLite, without data-modifying CTEs, runs three.
        """
        given = self.db.dialect.rows_table("given", _ATTEMPT_COLUMNS, shared=True)
        g = given.c
        now = self.db.now()
        # Joined to its delivery: an attempt whose delivery was deleted meanwhile is dropped.
        # An attempt already logged (its id is the record's, made before sending) is
        # skipped: a batch written again after its commit's answer was lost logs nothing
        # twice. ON CONFLICT DO NOTHING is spelled alike by SQLite and PostgreSQL.
        insert = (
            pg_insert(t.attempts)
            .from_select(
                [
                    "id",
                    "delivery_id",
                    "org_id",
                    "status_code",
                    "latency_ms",
                    "response_body",
                    "error",
                    "error_detail",
                    "created_at",
                ],
                sa.select(
                    g.attempt_id,
                    g.delivery_id,
                    D.org_id,  # the delivery's: a batch carries no more than it must
                    g.status_code,
                    g.latency_ms,
                    g.response_body,
                    g.error,
                    g.error_detail,
                    now,
                )
                .select_from(given.join(t.deliveries, D.id == g.delivery_id))
                .where(self.db.dialect.among(D.id)),
            )
            .on_conflict_do_nothing()
        )
        retry = g.next_status == "pending"
        update = (
            t.deliveries.update()
            .where(
                self.db.dialect.among(D.id),
                D.id == g.delivery_id,
                D.lease_token == g.token,  # a lost lease: no change
            )
            .values(
                status=g.next_status,
                next_attempt_at=sa.case((retry, now + g.retry_in), else_=D.next_attempt_at),
                finished_at=sa.case((retry, sa.null()), else_=now),
                last_status_code=g.status_code,
                last_error=g.last_error,
                lease_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
        )
        # Only endpoints that were failing are written: the hot path stays read-only here.
        recovered = (
            t.endpoints.update()
            .where(self.db.dialect.among(E.id, param="recovered"))
            .where(E.failing_since.is_not(None))
            .values(failing_since=None)
        )
        if not self.db.dialect.writes_in_ctes:
            return [insert, update, recovered]
        return [
            insert.add_cte(update.returning(D.id).cte("updated")).add_cte(
                recovered.returning(E.id).cte("recovered")
            )
        ]

    async def _now(self, conn: AsyncConnection) -> float:
        return float((await conn.execute(sa.select(self.db.now()))).scalar_one())

    # -- claim --------------------------------------------------------------

    async def claim_deliveries(
        self,
        limit: int,
        *,
        lease_seconds: float,
        per_endpoint: int,
        held: Mapping[str, int] | None = None,
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries, oldest due first, fair across endpoints.

        An endpoint gets at most ``per_endpoint`` (or its ``rate_limit``, one
        second's worth, if lower) minus what the caller already ``held`` for it, so
        a slow or rate-limited endpoint never holds more than its share of the
        caller's slots.
        """
        if limit <= 0:
            return []
        token = uuid.uuid4().hex
        choice = {
            "per_endpoint": per_endpoint,
            "held": json.dumps(dict(held or {})),
            "limit": limit,
            "b_token": token,
            "b_lease_seconds": lease_seconds,
        }
        if self._hot_claim is not None:
            rows = await self.db.run_hot(self._hot_claim, choice)
            now = rows[0][-1] if rows else 0.0
        else:
            async with self.db.write() as conn:
                rows, now = await self._claim_sqlite(conn, choice)
        claimed = []
        open_secret = self.box.open
        # Just after the statement: the lease began up to its latency earlier (the
        # dispatcher's margin covers that).
        claimed_at = time.monotonic()
        # Unpacked by position (the columns of the claim statements): by name costs a
        # mapping lookup per field, per delivery.
        for (
            delivery_id,
            event_id,
            endpoint_id,
            org_id,
            job_id,
            sequence,
            attempts,
            event_type,
            created_at,
            body,
            url,
            headers,
            rate_limit,
            secret,
            previous_secret,
            previous_secret_expires_at,
            *_,
        ) in rows:
            in_grace = previous_secret and (previous_secret_expires_at or 0) > now
            context = secret_context(endpoint_id)
            current = open_secret(secret, context)
            claimed.append(
                ClaimedDelivery(
                    id=delivery_id,
                    lease_token=token,
                    event_id=event_id,
                    event_type=event_type,
                    endpoint_id=endpoint_id,
                    org_id=org_id,
                    job_id=job_id,
                    sequence=sequence,
                    attempt=attempts,
                    url=url,
                    headers=endpoint_headers(self.box, endpoint_id, headers),
                    secrets=(current, open_secret(previous_secret, context))
                    if in_grace
                    else (current,),
                    rate_limit=rate_limit,
                    body=body.encode(),
                    event_created_at=created_at,
                    claimed_at=claimed_at,
                )
            )
        claimed.sort(key=lambda c: (c.event_created_at, c.sequence))
        return claimed

    async def _claim_sqlite(
        self, conn: AsyncConnection, choice: dict[str, Any]
    ) -> tuple[Sequence[Any], float]:
        """SQLite (under the write lock): choose, lease, then read the leased rows."""
        now = await self._now(conn)
        result = await conn.execute(self.sql.choose, {**choice, "now": now})
        chosen, spent = pick(result, choice["limit"])
        if not chosen:
            return [], now
        await conn.execute(self.sql.lease, {**choice, "ids": chosen, "b_now": now})
        for bucket in spent:
            await conn.execute(self.sql.spend, {**bucket, "now": now})
        return (await conn.execute(self.sql.claimed, {"ids": chosen})).all(), now

    # -- record -------------------------------------------------------------

    async def record_attempts(
        self, records: Sequence[AttemptRecord], *, disable_failing_for: float | None = None
    ) -> list[str]:
        """Store attempts and their decisions in one transaction; returns disabled endpoints.

        An endpoint is disabled by a ``"disable"`` record, and, given
        ``disable_failing_for`` (the retry policy's ``disable_after``), when this
        batch failed it and every attempt to it has failed for at least that many
        seconds. A record whose lease was lost (the delivery was claimed again after
        its lease ran out) still logs its attempt but changes nothing else; one whose
        delivery is gone (its endpoint was deleted meanwhile) is dropped.
        """
        if not records:
            return []
        given = self.db.dialect.rows_param(
            _ATTEMPT_COLUMNS,
            [
                (
                    r.id,
                    r.delivery.id,
                    r.delivery.lease_token,
                    r.status_code,
                    r.latency_ms,
                    _cut(r.response_body),
                    r.error,
                    r.error_detail,
                    _NEXT_STATUS[r.verdict],
                    max(0.0, r.retry_in or 0.0),
                    _last_error(r),
                )
                for r in records
            ],
        )
        succeeded = {r.delivery.endpoint_id for r in records if r.verdict == "succeeded"}
        failing = {r.delivery.endpoint_id for r in records if r.verdict != "succeeded"} - succeeded
        batch = {
            **given,
            "ids": list({r.delivery.id for r in records}),
            "recovered": sorted(succeeded),
        }
        all_succeeded = all(r.verdict == "succeeded" for r in records)
        if all_succeeded and self._hot_record is not None:
            await self.db.run_hot(self._hot_record, batch)
            return []
        async with self.db.write() as conn:
            # The same statements whatever the batch size (Dialect.rows_table).
            for statement in self._recording:
                await conn.execute(statement, batch)
            if all_succeeded:
                return []
            return await self._endpoint_health(conn, records, failing, disable_failing_for)

    async def _endpoint_health(
        self,
        conn: AsyncConnection,
        records: Sequence[AttemptRecord],
        failing: set[str],
        disable_failing_for: float | None,
    ) -> list[str]:
        """Track failing endpoints' streaks; disable as the records and the cut-off say."""
        gone = {r.delivery.endpoint_id: r.reason for r in records if r.verdict == "disable"}
        to_disable: dict[str, str] = {}
        now = self.db.now()
        if failing:
            await conn.execute(
                t.endpoints.update()
                .where(E.id.in_(sorted(failing)), E.failing_since.is_(None))
                .values(failing_since=now)
            )
        if failing and disable_failing_for is not None:
            # The policy's cut-off is compared here, in the transaction that records the
            # failure: when the streak began is known only to the database (every
            # dispatcher's attempts count), and deciding anywhere else would read a
            # streak that another dispatcher's success may have ended meanwhile.
            cutoff: sa.BindParameter[float] = sa.bindparam(
                "cutoff", disable_failing_for, type_=sa.Double()
            )
            for row in await conn.execute(
                sa.select(E.id, (now - E.failing_since).label("streak")).where(
                    E.id.in_(sorted(failing)), E.enabled.is_(True), E.failing_since <= now - cutoff
                )
            ):
                to_disable[row.id] = f"every delivery attempt failed for {_duration(row.streak)}"
        for endpoint_id, reason in gone.items():
            to_disable[endpoint_id] = reason or "the endpoint answered 410 Gone"
        disabled = []
        for endpoint_id, reason in to_disable.items():
            found = (
                await conn.execute(
                    sa.select(t.endpoints).where(E.id == endpoint_id, E.enabled.is_(True))
                )
            ).first()
            if found is not None:
                endpoint = endpoint_from_row(found, self.box)
                await disable_endpoint(self.db, conn, endpoint, reason, announce=True)
                disabled.append(endpoint_id)
        return disabled

    async def release(self, claimed: Sequence[ClaimedDelivery]) -> None:
        """Give deliveries back unsent (shutdown): due at once, the attempt not counted."""
        if not claimed:
            return
        async with self.db.write() as conn:
            now = await self._now(conn)
            await conn.execute(
                t.deliveries.update()
                .where(D.id == sa.bindparam("b_id"), D.lease_token == sa.bindparam("b_token"))
                .values(
                    next_attempt_at=now,
                    attempts=D.attempts - 1,
                    lease_token=None,
                    lease_expires_at=None,
                    updated_at=now,
                ),
                [{"b_id": c.id, "b_token": c.lease_token} for c in claimed],
            )
            await self.db.notify(conn, "pagewire_deliveries")

    async def backlog(self) -> Backlog:
        """Deliveries due now, and the age of the oldest one not yet delivered."""
        async with self.db.read() as conn:
            now = await self._now(conn)
            due = (
                await conn.execute(sa.select(sa.func.count()).where(*due_now(D, now)))
            ).scalar_one()
            oldest = (
                await conn.execute(
                    sa.select(sa.func.min(D.created_at)).where(D.status == "pending")
                )
            ).scalar()
        return Backlog(int(due), max(0.0, now - oldest) if oldest is not None else 0.0)


def _cut(body: str | None) -> str | None:
    """Response bodies are kept to 4 KB (of UTF-8), enough to read an error page."""
    if body is None:
        return None
    raw = body.encode()
    if len(raw) <= RESPONSE_BODY_LIMIT:
        return body
    return raw[:RESPONSE_BODY_LIMIT].decode(errors="ignore")


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"
