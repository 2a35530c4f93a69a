"""One running job's progress writes: each is also a heartbeat, and learns of a
cancel or of the lease being lost."""

from __future__ import annotations

import logging
import time

from pagewire.errors import StoreUnavailable
from pagewire.models import Lease, LeaseState
from pagewire.store import Store

log = logging.getLogger("pagewire.worker")

# Progress is written at most this often, so a 500-pages/s document does not
# become 500 writes/s; cancellation is still seen within this time of a page end.
PROGRESS_INTERVAL = 0.25


class Progress:
    """What the runner reports at each page boundary, written for one lease."""

    def __init__(self, store: Store, lease: Lease, lease_seconds: float) -> None:
        self.store = store
        self.lease = lease
        self.lease_seconds = lease_seconds
        self.lost = False
        self.cancel = False
        self._last_write = 0.0
        self._total: int | None = None
        self._unwritten = 0  # progress writes the database failed

    def learn(self, state: LeaseState) -> None:
        self.lost = not state.owned
        self.cancel = state.cancel_requested

    async def on_page(self, done: int, total: int) -> bool:
        """Record ``done`` of ``total`` pages (at most every PROGRESS_INTERVAL); go on?"""
        now = time.monotonic()
        if total != self._total or now - self._last_write >= PROGRESS_INTERVAL:
            self._total = total
            self._last_write = now
            try:
                state = await self.store.leases.heartbeat(
                    self.lease, self.lease_seconds, pages_done=done, pages_total=total
                )
            except StoreUnavailable as error:
                # Progress can wait: each write carries the whole count, so the next
                # one (a PROGRESS_INTERVAL later) catches up; the worker's heartbeat
                # loop keeps the lease meanwhile. Not the document's fault either way.
                self._unwritten += 1
                if self._unwritten == 1:
                    log.warning(
                        "progress not recorded; trying again at a later page",
                        extra={"fields": {"job_id": self.lease.job.id, "error": error.message}},
                    )
            else:
                self.learn(state)
        return not (self.lost or self.cancel)
