"""The only database seam: named operations the domain needs, on SQLite or PostgreSQL.

``Store`` groups them by who asks:

* ``store.jobs``: the API's side of jobs (enqueue, get, list, cancel);
* ``store.leases``: the worker's side (claim, heartbeat, finish, release, rescue);
* ``store.keys``: organizations and API keys;
* ``store.webhooks``: endpoints and messages (the API's and the portal's side);
* ``store.deliveries``: the dispatcher's claims and attempts;
* ``store.portal``: portal links and sessions, and the message log with each state;
* ``store.idempotency``: the webhook API's Idempotency-Keys and the responses they replay;
* ``store.retention``: what the retention sweep expires and prunes;
* ``store.stats``: read-only figures for metrics and the portal;
* ``store.at_rest``: the encryption keys' checks, and re-sealing stored secrets.

Secrets and custom header values are sealed with ``store.box``
(:mod:`pagewire.security.encryption`) wherever they are written, and opened where read.

Every SQL statement of pagewire is in this package, and every difference between
SQLite and PostgreSQL is in :mod:`pagewire.store.dialect` (``store.db.dialect``).
The records these operations take and return are in :mod:`pagewire.models`.
"""

from __future__ import annotations

from collections.abc import Callable

from pagewire.security.encryption import EncryptionKeyError, SecretBox
from pagewire.settings import Settings
from pagewire.store.at_rest import AtRestStore
from pagewire.store.db import Database
from pagewire.store.deliveries import DeliveryStore
from pagewire.store.idempotency import IdempotencyStore
from pagewire.store.jobs import JobStore
from pagewire.store.keys import KeyStore
from pagewire.store.leases import LeaseStore
from pagewire.store.portal import PortalStore
from pagewire.store.ratelimits import RateBuckets
from pagewire.store.retention import RetentionStore
from pagewire.store.shards import ShardStore
from pagewire.store.stats import StatsStore
from pagewire.store.webhooks import WebhookStore


class Store:
    def __init__(
        self,
        db: Database,
        *,
        public_url: str,
        max_attempts: int = 3,
        box: SecretBox | None = None,
        org_concurrency: int = 0,
    ) -> None:
        self.db = db
        self.box = box or SecretBox(_no_keys)
        self.jobs = JobStore(db, public_url=public_url, max_attempts=max_attempts)
        self.leases = LeaseStore(db, public_url=public_url, org_cap=org_concurrency)
        self.shards = ShardStore(db, public_url=public_url)
        self.keys = KeyStore(db)
        self.rate_buckets = RateBuckets(db)
        # Endpoints and messages (the API's side), deliveries (the dispatcher's side).
        self.webhooks = WebhookStore(db, self.box)
        self.deliveries = DeliveryStore(db, self.box)
        self.portal = PortalStore(db)
        self.idempotency = IdempotencyStore(db, self.box)
        self.retention = RetentionStore(db, public_url=public_url)
        self.stats = StatsStore(db)
        self.at_rest = AtRestStore(db, self.box)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] | None = None
    ) -> Store:
        db = Database(settings.resolved_database_url, clock=clock, listen=settings.listen_notify)
        return cls(
            db,
            public_url=settings.public_url,
            max_attempts=settings.max_attempts,
            box=SecretBox.from_settings(settings, embedded=db.dialect.embedded),
            org_concurrency=settings.org_concurrency,
        )

    async def close(self) -> None:
        await self.db.close()


def _no_keys(_create: bool) -> tuple[tuple[()], str]:
    raise EncryptionKeyError("this Store was given no encryption keys (Store(..., box=...))")


__all__ = ["Database", "Store"]
