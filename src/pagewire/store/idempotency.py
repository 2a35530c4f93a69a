"""Idempotency keys of the webhook API's POSTs: claim, record the response, replay it.

A request with a key first *claims* it: one row per (organization, key), inserted
"in progress" before the work runs. The primary key makes the claim exclusive on
every node: of two concurrent requests with one new key, one inserts and the other
sees its row. After the work the claimant *finishes* the row with the response it
sent, or *releases* it (deletes it) so that a retry can run the work again. A key
is live for ``ttl_seconds`` after its first use, judged by the database's clock;
an older row counts as absent, and the retention sweep prunes it.

A stored response may hold an endpoint's secret (create, rotate-secret), so every
response is sealed (:mod:`pagewire.security.encryption`, bound to its organization and key)
before it is written, and opened only to be replayed to the same organization.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import exc

from pagewire.errors import Conflict
from pagewire.models import StoredResponse
from pagewire.security.encryption import SecretBox, response_context
from pagewire.store import tables as t
from pagewire.store.db import Database

K = t.idempotency_keys.c

KEY_TTL_SECONDS = 24 * 3600.0
# A claim this old without a response was abandoned (its process died mid-request, or
# the database failed while recording): the webhook API's routes answer in seconds,
# so a retry may take the key over instead of waiting out its 24 hours.
ABANDONED_AFTER_SECONDS = 120.0


def in_progress() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still in progress; retry after it finishes",
        code="idempotency_in_progress",
    )


class IdempotencyStore:
    def __init__(
        self, db: Database, box: SecretBox, *, ttl_seconds: float = KEY_TTL_SECONDS
    ) -> None:
        self.db = db
        self.box = box
        self.ttl_seconds = ttl_seconds

    async def claim(self, org_id: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim ``key`` for this request: ``None`` means do the work, then ``finish`` or
        ``release``; a :class:`StoredResponse` is the answer the same request already got.

        Raises :class:`Conflict` with code ``idempotency_conflict`` when the key was used
        with another request (``fingerprint``), ``idempotency_in_progress`` while the
        request that claimed it is still running.
        """
        for _ in range(3):
            try:
                return await self._claim(org_id, key, fingerprint)
            except exc.IntegrityError:
                # A concurrent request inserted this key after we looked: read theirs.
                continue
        raise in_progress()

    async def _claim(self, org_id: str, key: str, fingerprint: str) -> StoredResponse | None:
        now = self.db.now()
        mine = (K.org_id == org_id, K.key == key)
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        K.fingerprint,
                        K.status_code,
                        K.response_body,
                        (K.created_at > now - self.ttl_seconds).label("live"),
                        (K.created_at <= now - ABANDONED_AFTER_SECONDS).label("abandoned"),
                    ).where(*mine)
                )
            ).first()
            if row is not None and row.live:
                if row.fingerprint != fingerprint:
                    raise Conflict(
                        "this Idempotency-Key was used with a different request; "
                        "use a new key for a new request",
                        code="idempotency_conflict",
                    )
                if row.status_code is not None:
                    body = self.box.open(row.response_body, response_context(org_id, key))
                    return StoredResponse(row.status_code, body)
                if not row.abandoned:
                    raise in_progress()
            if row is not None:  # expired, or an abandoned claim: the key is free again
                await conn.execute(
                    t.idempotency_keys.delete().where(
                        *mine,
                        K.status_code.is_(None) | (K.created_at <= now - self.ttl_seconds),
                    )
                )
            await conn.execute(
                t.idempotency_keys.insert().values(
                    org_id=org_id, key=key, fingerprint=fingerprint, created_at=now
                )
            )
        return None

    async def finish(self, org_id: str, key: str, status_code: int, body: str) -> None:
        """Record the response the claimed request sent, for its retries to get."""
        async with self.db.write() as conn:
            await conn.execute(
                t.idempotency_keys.update()
                .where(K.org_id == org_id, K.key == key, K.status_code.is_(None))
                .values(
                    status_code=status_code,
                    response_body=self.box.seal(body, response_context(org_id, key)),
                )
            )

    async def release(self, org_id: str, key: str) -> None:
        """Give up a claim (the work failed on our side): a retry with the key runs again."""
        async with self.db.write() as conn:
            await conn.execute(
                t.idempotency_keys.delete().where(
                    K.org_id == org_id, K.key == key, K.status_code.is_(None)
                )
            )

    async def prune(self, limit: int = 1000) -> int:
        """Delete one batch of keys older than the TTL; returns how many went."""
        async with self.db.write() as conn:
            old = (
                sa.select(K.org_id, K.key)
                .where(K.created_at <= self.db.now() - self.ttl_seconds)
                .limit(limit)
            )
            result = await conn.execute(
                t.idempotency_keys.delete().where(sa.tuple_(K.org_id, K.key).in_(old))
            )
        return int(result.rowcount or 0)


__all__ = ["ABANDONED_AFTER_SECONDS", "KEY_TTL_SECONDS", "IdempotencyStore"]
