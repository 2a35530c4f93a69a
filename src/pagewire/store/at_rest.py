"""Secrets at rest, the database's side: the keys' checks, and re-sealing stored values.

* :meth:`AtRestStore.verify`, at every start (``runtime.open_services``): each key
  this database has sealed with has a check value in the ``settings`` table (a
  constant sealed with that key). A key id the settings no longer list, or a key
  that does not open its check, stops the start with an error naming the setting:
  secrets are never misread as garbage. The first key's check is added when new.
* :meth:`AtRestStore.seal_legacy`, once per database, after the migrations: values
  stored in plaintext before encryption at rest are sealed.
* :meth:`AtRestStore.reseal` (``pagewire encryption rotate``): every value sealed
  with another key than the first is sealed again with the first; then the other
  keys' checks are removed, so those keys may leave the settings.

Both passes work in batches, each in its own transaction with its rows locked (a
concurrent rotation of an endpoint's secret is never overwritten), and only touch
values that need it: an interrupted pass is simply run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from pagewire.security.encryption import (
    EncryptionKeyError,
    SecretBox,
    header_context,
    response_context,
    secret_context,
)
from pagewire.store import tables as t
from pagewire.store.db import Database

S = t.settings.c
E = t.endpoints.c
K = t.idempotency_keys.c

CHECK_PREFIX = "encryption_key_check."
LEGACY_SEALED = "encryption_legacy_sealed"
CHECK_TEXT = "pagewire encryption key check"
BATCH = 200


def check_context(key_id: str) -> str:
    return f"key-check:{key_id}"


@dataclass
class Resealed:
    """What a pass sealed again (with key ``key_id``): endpoints changed, values in
    them, stored responses; after a rotation, the keys whose checks were removed."""

    key_id: str = ""
    endpoints: int = 0
    values: int = 0
    responses: int = 0
    retired_keys: list[str] = field(default_factory=list)


class AtRestStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    async def verify(self, *, may_create_key: bool) -> None:
        """Check the configured keys against the database's checks (see the module).

        ``may_create_key``: the embedded default may create its key file, but only for
        a database that has never sealed anything (a lost file is an error, not a new key).
        """
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(S.name, S.value).where(S.name.like(CHECK_PREFIX + "%"))
                )
            ).all()
        stored = {name[len(CHECK_PREFIX) :]: value for name, value in rows}
        self.box.load(create=may_create_key and not stored)
        for key_id, value in sorted(stored.items()):
            if key_id not in self.box.key_ids:
                raise EncryptionKeyError(
                    f"this database holds secrets sealed with encryption key {key_id!r}, "
                    f"which {self.box.source} does not list: add that key back (a key "
                    "leaves the list only after `pagewire encryption rotate` has moved "
                    "everything off it)"
                )
            try:
                opens = self.box.open(value, check_context(key_id)) == CHECK_TEXT
            except EncryptionKeyError:
                opens = False
            if not opens:
                raise EncryptionKeyError(
                    f"encryption key {key_id!r} in {self.box.source} is not the key this "
                    "database's secrets were sealed with: set the key it had"
                )
        primary = self.box.primary_id
        if primary not in stored:
            try:
                async with self.db.write() as conn:
                    await conn.execute(
                        t.settings.insert().values(
                            name=CHECK_PREFIX + primary,
                            value=self.box.seal(CHECK_TEXT, check_context(primary)),
                            updated_at=self.db.now(),
                        )
                    )
            except exc.IntegrityError:  # another process added it meanwhile: check theirs
                await self.verify(may_create_key=False)

    async def seal_legacy(self) -> Resealed | None:
        """Seal what was stored in plaintext before encryption at rest, once per
        database; None when that was done already."""
        async with self.db.read() as conn:
            done = (await conn.execute(sa.select(S.value).where(S.name == LEGACY_SEALED))).first()
        if done is not None:
            return None
        resealed = await self.reseal(rotate=False)
        if resealed.values or resealed.responses:
            await self.db.dialect.scrub_log(self.db.engine)
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    t.settings.insert().values(
                        name=LEGACY_SEALED, value="1", updated_at=self.db.now()
                    )
                )
        except exc.IntegrityError:
            pass  # another process finished the same pass
        return resealed

    async def reseal(self, *, rotate: bool, batch: int = BATCH) -> Resealed:
        """Seal plaintext values, and with ``rotate`` every value sealed with another key
        than the first; after a rotation the other keys' checks are removed."""
        counts = Resealed(key_id=self.box.primary_id)
        after = ""
        while True:
            async with self.db.write() as conn:
                await self.db.dialect.secure_delete(conn)
                rows = (
                    await conn.execute(
                        sa.select(E.id, E.secret, E.previous_secret, E.headers)
                        .where(E.id > after)
                        .order_by(E.id)
                        .limit(batch)
                        .with_for_update()
                    )
                ).all()
                for row in rows:
                    changes, values = self._endpoint_changes(row, rotate)
                    if changes:
                        await conn.execute(
                            t.endpoints.update().where(E.id == row.id).values(**changes)
                        )
                        counts.endpoints += 1
                        counts.values += values
            if len(rows) < batch:
                break
            after = rows[-1].id
        counts.responses = await self._reseal_responses(rotate, batch)
        if rotate:
            counts.retired_keys = await self._retire_other_keys()
            await self.db.dialect.scrub_log(self.db.engine)
        return counts

    def _endpoint_changes(self, row: Any, rotate: bool) -> tuple[dict[str, Any], int]:
        """The columns of one endpoint to write, and how many values were sealed again."""
        box = self.box
        changes: dict[str, Any] = {}
        values = 0
        context = secret_context(row.id)
        for column in ("secret", "previous_secret"):
            value = getattr(row, column)
            if value is not None and box.needs_sealing(value, rotate=rotate):
                changes[column] = box.seal(box.open(value, context), context)
                values += 1
        headers = dict(row.headers or {})
        for name, value in headers.items():
            if box.needs_sealing(value, rotate=rotate):
                context = header_context(row.id, name)
                headers[name] = box.seal(box.open(value, context), context)
                changes["headers"] = headers
                values += 1
        return changes, values

    async def _reseal_responses(self, rotate: bool, batch: int) -> int:
        resealed = 0
        after = ("", "")
        while True:
            async with self.db.write() as conn:
                await self.db.dialect.secure_delete(conn)
                rows = (
                    await conn.execute(
                        sa.select(K.org_id, K.key, K.response_body)
                        .where(sa.tuple_(K.org_id, K.key) > sa.tuple_(*after))
                        .order_by(K.org_id, K.key)
                        .limit(batch)
                        .with_for_update()
                    )
                ).all()
                for org_id, key, body in rows:
                    if body is None or not self.box.needs_sealing(body, rotate=rotate):
                        continue
                    context = response_context(org_id, key)
                    await conn.execute(
                        t.idempotency_keys.update()
                        .where(K.org_id == org_id, K.key == key)
                        .values(response_body=self.box.seal(self.box.open(body, context), context))
                    )
                    resealed += 1
            if len(rows) < batch:
                return resealed
            after = (rows[-1].org_id, rows[-1].key)

    async def _retire_other_keys(self) -> list[str]:
        """Remove the checks of every key but the first: nothing is sealed with them now."""
        async with self.db.write() as conn:
            names = (
                (
                    await conn.execute(
                        sa.select(S.name).where(
                            S.name.like(CHECK_PREFIX + "%"),
                            S.name != CHECK_PREFIX + self.box.primary_id,
                        )
                    )
                )
                .scalars()
                .all()
            )
            if names:
                await conn.execute(t.settings.delete().where(S.name.in_(names)))
        return sorted(name[len(CHECK_PREFIX) :] for name in names)


__all__ = ["AtRestStore", "Resealed"]
