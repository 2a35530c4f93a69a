"""Organizations and their API keys (stored as hashes, shown once)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa

from pagewire.errors import NotFound, Unauthenticated
from pagewire.ids import new_id
from pagewire.models import ApiKey, Organization, Principal
from pagewire.store import tables as t
from pagewire.store.db import Database

KEY_PREFIX = "pw_"
# last_used_at is a convenience, not an audit log: refresh it at most this often.
_LAST_USED_RESOLUTION = 300.0


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _key_from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        org_id=row.org_id,
        prefix=row.prefix,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_org(self, name: str) -> Organization:
        """The organization of that name, created if new."""
        async with self.db.write() as conn:
            row = (
                await conn.execute(sa.select(t.organizations).where(t.organizations.c.name == name))
            ).first()
            if row is None:
                row = (
                    await conn.execute(
                        t.organizations.insert()
                        .values(id=new_id("org"), name=name, created_at=self.db.now())
                        .returning(t.organizations)
                    )
                ).one()
        return Organization(id=row.id, name=row.name, created_at=row.created_at)

    async def create_key(self, org_id: str, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key; the plaintext is returned here once and never stored."""
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self.db.write() as conn:
            org = (
                await conn.execute(
                    sa.select(t.organizations.c.id).where(t.organizations.c.id == org_id)
                )
            ).first()
            if org is None:
                raise NotFound(f"no organization {org_id}")
            row = (
                await conn.execute(
                    t.api_keys.insert()
                    .values(
                        id=new_id("key"),
                        org_id=org_id,
                        key_hash=hash_key(plaintext),
                        prefix=plaintext[:10],
                        name=name,
                        created_at=self.db.now(),
                    )
                    .returning(t.api_keys)
                )
            ).one()
        return _key_from_row(row), plaintext

    async def authenticate(self, plaintext: str) -> Principal:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        t.api_keys.c.id,
                        t.api_keys.c.org_id,
                        t.api_keys.c.revoked_at,
                        t.api_keys.c.last_used_at,
                        self.db.now().label("now"),
                    ).where(t.api_keys.c.key_hash == hash_key(plaintext))
                )
            ).first()
        if row is None or row.revoked_at is not None:
            raise Unauthenticated(
                "the API key is missing, unknown or revoked", code="invalid_api_key"
            )
        if row.last_used_at is None or row.now - row.last_used_at > _LAST_USED_RESOLUTION:
            async with self.db.write() as conn:
                await conn.execute(
                    t.api_keys.update()
                    .where(t.api_keys.c.id == row.id)
                    .values(last_used_at=self.db.now())
                )
        return Principal(org_id=row.org_id, key_id=row.id)

    async def list_keys(self, org_id: str | None = None) -> list[ApiKey]:
        query = sa.select(t.api_keys).order_by(t.api_keys.c.id)
        if org_id is not None:
            query = query.where(t.api_keys.c.org_id == org_id)
        async with self.db.read() as conn:
            return [_key_from_row(r) for r in (await conn.execute(query)).all()]

    async def revoke(self, key_id: str) -> ApiKey:
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    t.api_keys.update()
                    .where(t.api_keys.c.id == key_id)
                    .values(revoked_at=sa.func.coalesce(t.api_keys.c.revoked_at, self.db.now()))
                    .returning(t.api_keys)
                )
            ).first()
        if row is None:
            raise NotFound(f"no API key {key_id}")
        return _key_from_row(row)

    async def list_orgs(self) -> list[Organization]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(t.organizations).order_by("id"))).all()
        return [Organization(id=r.id, name=r.name, created_at=r.created_at) for r in rows]
