"""The webhook portal's links and sessions (and, from ``message_log``, its message log).

A link (``POST /webhook``) is a row that one visit consumes: the consuming update
is guarded by ``used_at IS NULL``, so two visits racing on two API nodes start one
session between them. Expiry is judged by the database's clock (injectable in
tests), like every other deadline.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.errors import Unauthenticated
from pagewire.ids import new_id
from pagewire.models import PortalLink, PortalSession
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.message_log import MessageLog

L = t.portal_links.c
S = t.portal_sessions.c


class PortalStore(MessageLog):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _now(self, conn: AsyncConnection) -> float:
        return float((await conn.execute(sa.select(self.db.now()))).scalar_one())

    async def create_link(self, org_id: str, *, ttl_seconds: float) -> PortalLink:
        async with self.db.write() as conn:
            now = await self._now(conn)
            link = PortalLink(new_id("pl"), org_id, now + ttl_seconds)
            await conn.execute(
                t.portal_links.insert().values(
                    id=link.id, org_id=org_id, created_at=now, expires_at=link.expires_at
                )
            )
        return link

    async def check_link(self, link_id: str, org_id: str) -> None:
        """Whether the link would open a session now, without using it up.

        Raises what :meth:`start_session` would.
        """
        async with self.db.read() as conn:
            await self._usable_link(conn, link_id, org_id, await self._now(conn))

    async def _usable_link(
        self, conn: AsyncConnection, link_id: str, org_id: str, now: float
    ) -> None:
        link = (
            await conn.execute(sa.select(t.portal_links).where(L.id == link_id, L.org_id == org_id))
        ).first()
        if link is None:
            raise Unauthenticated(
                "this portal link is not one pagewire issued", code="portal_link_unknown"
            )
        if link.used_at is not None:
            raise Unauthenticated(
                "this portal link was already used; a link opens the portal once",
                code="portal_link_used",
            )
        if link.expires_at <= now:
            raise Unauthenticated("this portal link has expired", code="portal_link_expired")

    async def start_session(
        self, link_id: str, org_id: str, *, ttl_seconds: float
    ) -> PortalSession:
        """Consume the link and open a session for its organization.

        Raises :class:`Unauthenticated` with code ``portal_link_unknown``,
        ``portal_link_expired`` or ``portal_link_used``.
        """
        async with self.db.write() as conn:
            now = await self._now(conn)
            await self._usable_link(conn, link_id, org_id, now)
            consumed = await conn.execute(
                t.portal_links.update()
                .where(L.id == link_id, L.used_at.is_(None))
                .values(used_at=now)
            )
            if consumed.rowcount != 1:  # another visit won the race
                raise Unauthenticated(
                    "this portal link was already used; a link opens the portal once",
                    code="portal_link_used",
                )
            session = PortalSession(new_id("ps"), org_id, now + ttl_seconds)
            await conn.execute(
                t.portal_sessions.insert().values(
                    id=session.id,
                    org_id=org_id,
                    link_id=link_id,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session

    async def live_session(self, session_id: str, org_id: str) -> PortalSession:
        """The session if it is still open; ``Unauthenticated`` (``portal_session_ended``) if not."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.portal_sessions, self.db.now().label("now")).where(
                        S.id == session_id, S.org_id == org_id
                    )
                )
            ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= row.now:
            raise Unauthenticated(
                "your portal session has ended; open a new link from your application",
                code="portal_session_ended",
            )
        return PortalSession(row.id, row.org_id, row.expires_at)

    async def end_session(self, session_id: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                t.portal_sessions.update()
                .where(S.id == session_id, S.revoked_at.is_(None))
                .values(revoked_at=self.db.now())
            )

    async def prune(self, *, keep_expired_links_seconds: float = 86400.0) -> int:
        """Delete sessions that ended and links long expired; returns how many rows went.

        Expired links are kept a while so that a late visit still hears "expired"
        rather than "not a link pagewire issued".
        """
        async with self.db.write() as conn:
            now = await self._now(conn)
            sessions = await conn.execute(
                t.portal_sessions.delete().where(
                    sa.or_(S.expires_at <= now, S.revoked_at.is_not(None))
                )
            )
            links = await conn.execute(
                t.portal_links.delete().where(L.expires_at <= now - keep_expired_links_seconds)
            )
        return int(sessions.rowcount) + int(links.rowcount)
