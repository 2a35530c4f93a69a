"""Attempts into the database, in batches: what the dispatcher learned and decided.

The senders hand each answered delivery here as an :class:`AttemptRecord` (the
attempt and the retry policy's decision, :func:`attempt_record`), and each
delivery they can no longer send within its lease (:meth:`Recorder.hand_back`).
One loop writes them: every attempt that finished meanwhile in one statement,
after a short pause when only a few did, and gives the hand-backs back to the
queue (due again at once, the attempt not counted). Nobody waits on these writes
but the next claim (a retry to wake up for, a job's next event released), which
learns of each batch through ``on_written``.

Losing an unwritten record loses nothing: its delivery's lease runs out and it
is sent again, with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from pagewire.dispatch.retry_policy import (
    AttemptOutcome,
    Decision,
    Delivered,
    DisableEndpoint,
    GiveUp,
    RetryAt,
)
from pagewire.errors import PagewireError
from pagewire.models import AttemptRecord, ClaimedDelivery, Verdict
from pagewire.store.deliveries import DeliveryStore

log = logging.getLogger("pagewire.dispatch")

RECORD_PAUSE = 0.005


def attempt_record(
    delivery: ClaimedDelivery, outcome: AttemptOutcome, decision: Decision, now: float
) -> AttemptRecord:
    """What the store writes for an attempt that ended with ``outcome`` at ``now``
    (wall-clock seconds) and the policy's ``decision`` about it."""
    verdict: Verdict = "succeeded"
    retry_in = reason = None
    if isinstance(decision, RetryAt):
        verdict, retry_in = "retry", max(0.0, decision.when - now)
    elif isinstance(decision, GiveUp):
        verdict, reason = "failed", decision.reason
    elif isinstance(decision, DisableEndpoint):
        verdict, reason = "disable", decision.reason
    else:
        assert isinstance(decision, Delivered)
    return AttemptRecord(
        delivery,
        verdict,
        outcome.status_code,
        round(outcome.latency * 1000, 3),
        outcome.response_body,
        outcome.error,
        retry_in,
        reason,
    )


class Recorder:
    def __init__(
        self,
        deliveries: DeliveryStore,
        *,
        batch: int,
        disable_failing_for: float,
        poll_seconds: float,
        stopping: asyncio.Event,
        on_written: Callable[[Sequence[AttemptRecord]], None],
    ) -> None:
        self.deliveries = deliveries
        self._records: list[AttemptRecord] = []
        self._unsent: list[ClaimedDelivery] = []  # held too long to send: to hand back
        # Fewer records than this wait RECORD_PAUSE for company before they are written.
        self.batch = batch
        # The retry policy's disable_after, for the store to apply as it records.
        self.disable_failing_for = disable_failing_for
        self.poll_seconds = poll_seconds
        self._ready = asyncio.Event()
        self._closed = False  # the senders are done: write what is left, then end
        self._stopping = stopping
        self._on_written = on_written

    def add(self, record: AttemptRecord) -> None:
        self._records.append(record)
        self._ready.set()

    def hand_back(self, delivery: ClaimedDelivery) -> None:
        """Give back a delivery whose lease can no longer cover a request."""
        self._unsent.append(delivery)
        self._ready.set()

    async def close(self, unsent: Sequence[ClaimedDelivery]) -> None:
        """No more records will come: hand back ``unsent`` (and any waiting to be),
        and let :meth:`run` end once it has written the rest."""
        self._closed = True
        unsent = [*unsent, *self._unsent]
        self._unsent.clear()
        if unsent:
            with contextlib.suppress(PagewireError):
                await self.deliveries.release(unsent)
        self._ready.set()

    async def run(self) -> None:
        """Write finished attempts in batches: what piles up in a few milliseconds."""
        while True:
            if self._unsent:
                unsent, self._unsent = self._unsent, []
                try:
                    await self.deliveries.release(unsent)
                except PagewireError as error:  # their leases run out instead
                    log.warning("handing back failed", extra={"fields": {"error": str(error)}})
            if not self._records:
                if self._closed:
                    return
                await self._ready.wait()
                self._ready.clear()
                continue
            if len(self._records) < self.batch and not self._stopping.is_set():
                # Nobody waits on this write but the job's next event (per-job order):
                # a short pause buys transactions of dozens of attempts under load.
                await asyncio.sleep(RECORD_PAUSE)
            batch, self._records = self._records, []
            try:
                disabled = await self.deliveries.record_attempts(
                    batch, disable_failing_for=self.disable_failing_for
                )
            except PagewireError as error:
                # Keep them: a lease that runs out meanwhile means a duplicate, not a loss.
                log.warning("recording attempts failed", extra={"fields": {"error": str(error)}})
                if self._closed:
                    return
                self._records[:0] = batch
                await asyncio.sleep(self.poll_seconds)
                continue
            except Exception:
                # A batch the database refuses for good is dropped, not retried forever:
                # its deliveries' leases run out and they are sent again.
                log.exception("recording attempts failed; dropping the batch")
                continue
            for endpoint_id in disabled:
                log.warning(
                    "webhook endpoint disabled", extra={"fields": {"endpoint_id": endpoint_id}}
                )
            self._on_written(batch)
