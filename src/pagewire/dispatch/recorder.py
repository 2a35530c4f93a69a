"""Attempts into the database, in batches: what the dispatcher learned and decided.

The senders hand each answered delivery here as an :class:`AttemptRecord` (the
attempt and the retry policy's decision, :func:`attempt_record`), and each
delivery they can no longer send within its lease (:meth:`Recorder.hand_back`).
One loop writes them: every attempt that finished meanwhile in one statement,
after a short pause when only a few did, and gives the hand-backs back to the
queue (due again at once, the attempt not counted). Nobody waits on these writes
but the next claim (a retry to wake up for, a job's next event released), which
learns of each batch through ``on_written``.

Every attempt sent is logged, and the delivery's attempt count agrees with the
log. When the database fails a write (:class:`StoreUnavailable`), its records
and hand-backs are kept and written again after a :class:`Backoff`; past
``max_held`` of them the claims pause (``on_backlog``) rather than anything be
dropped, so memory stays bounded however long the outage lasts. A record written
late, after its lease ran out and the delivery was sent again, still logs its
attempt; the lease token keeps it from changing the delivery (store/deliveries).
After :meth:`Recorder.close` the writes are tried for ``closing_seconds`` more.
A batch the database refuses for another reason is written one record at a
time, so that only a record it refuses alone is lost (and first tried again
without what no database stores: NUL, lone surrogates).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from pagewire.backoff import Backoff
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
# Waits between tries of a write the database failed: short at first (a dropped
# connection is usually replaced at once), never long (the records' leases run).
RETRY = Backoff(first=0.05, most=2.0)


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
        outcome.error_detail,
    )


class Recorder:
    def __init__(
        self,
        deliveries: DeliveryStore,
        *,
        batch: int,
        disable_failing_for: float,
        max_held: int,
        closing_seconds: float,
        stopping: asyncio.Event,
        on_written: Callable[[Sequence[AttemptRecord]], None],
        on_backlog: Callable[[bool], None],
    ) -> None:
        self.deliveries = deliveries
        self._records: list[AttemptRecord] = []
        self._unsent: list[ClaimedDelivery] = []  # held too long to send: to hand back
        # Fewer records than this wait RECORD_PAUSE for company before they are written.
        self.batch = batch
        # The retry policy's disable_after, for the store to apply as it records.
        self.disable_failing_for = disable_failing_for
        # Unwritten records and hand-backs past which the claims pause.
        self.max_held = max_held
        self.closing_seconds = closing_seconds
        self._ready = asyncio.Event()
        self._closed = False  # the senders are done: write what is left, then end
        self._give_up_at = float("inf")
        self._stopping = stopping
        self._on_written = on_written
        self._on_backlog = on_backlog
        self._backlogged = False

    def add(self, record: AttemptRecord) -> None:
        self._records.append(record)
        self._ready.set()

    def hand_back(self, delivery: ClaimedDelivery) -> None:
        """Give back a delivery whose lease can no longer cover a request."""
        self._unsent.append(delivery)
        self._ready.set()

    async def close(self, unsent: Sequence[ClaimedDelivery]) -> None:
        """No more records will come: hand back ``unsent`` with the rest, and let
        :meth:`run` end once everything is written (or ``closing_seconds`` passed)."""
        self._closed = True
        self._give_up_at = time.monotonic() + self.closing_seconds
        self._unsent.extend(unsent)
        self._ready.set()

    async def run(self) -> None:
        """Write finished attempts in batches: what piles up in a few milliseconds."""
        failures = 0
        while True:
            if not (self._records or self._unsent):
                if self._closed:
                    return
                await self._ready.wait()
                self._ready.clear()
                continue
            if self._records and not failures:
                if len(self._records) < self.batch and not self._stopping.is_set():
                    # Nobody waits on this write but the job's next event (per-job
                    # order): a short pause buys transactions of dozens of attempts.
                    await asyncio.sleep(RECORD_PAUSE)
            try:
                await self._write()
            except PagewireError as error:
                failures += 1
                if not self._keep_trying(error, failures):
                    return
                await asyncio.sleep(RETRY.delay(failures))
                continue
            failures = 0
            if self._backlogged:
                self._backlog(False)

    async def _write(self) -> None:
        """Hand back what waits to be, then record every attempt that finished; what
        the database fails stays, for the next try."""
        if self._unsent:
            unsent, self._unsent = self._unsent, []
            try:
                await self.deliveries.release(unsent)
            except PagewireError:
                self._unsent[:0] = unsent
                raise
            except Exception:
                # Not the database being away: their leases run out instead (the
                # claim that comes then counts one attempt more than were sent).
                log.exception("handing back failed", extra={"fields": {"count": len(unsent)}})
        if not self._records:
            return
        batch, self._records = self._records, []
        try:
            disabled = await self.deliveries.record_attempts(
                batch, disable_failing_for=self.disable_failing_for
            )
        except PagewireError:
            self._records[:0] = batch
            raise
        except Exception:
            # Refused for another reason than the database being away (a value it
            # cannot store): one at a time, so only what it refuses alone is lost.
            disabled = await self._one_by_one(batch)
        self._written(batch, disabled)

    async def _one_by_one(self, batch: list[AttemptRecord]) -> list[str]:
        disabled: list[str] = []
        for index, record in enumerate(batch):
            try:
                disabled += await self._record_alone(record)
            except PagewireError:
                self._records[:0] = batch[index:]
                self._written(batch[:index], disabled)
                raise
        return disabled

    async def _record_alone(self, record: AttemptRecord) -> list[str]:
        """Record one attempt; refused, once more without what no database stores."""
        for attempt in (record, _storable(record)):
            try:
                return await self.deliveries.record_attempts(
                    [attempt], disable_failing_for=self.disable_failing_for
                )
            except PagewireError:
                raise
            except Exception:
                if attempt is not record:
                    log.exception(
                        "the database refused an attempt's record; dropping it",
                        extra={"fields": {"delivery_id": record.delivery.id}},
                    )
        return []

    def _written(self, batch: Sequence[AttemptRecord], disabled: Sequence[str]) -> None:
        for endpoint_id in disabled:
            log.warning("webhook endpoint disabled", extra={"fields": {"endpoint_id": endpoint_id}})
        if batch:
            self._on_written(batch)

    def _keep_trying(self, error: PagewireError, failures: int) -> bool:
        """After a failed write: log it, pause the claims if too much waits; False
        once the dispatcher stopped and its time to write is spent."""
        waiting = len(self._records) + len(self._unsent)
        if self._closed and time.monotonic() >= self._give_up_at:
            # Their leases run out and they are sent again: duplicates, not losses.
            log.error(
                "could not record attempts before stopping",
                extra={"fields": {"unwritten": waiting, "error": error.message}},
            )
            return False
        if failures == 1 or failures % 10 == 0:
            log.warning(
                "recording attempts failed; trying again",
                extra={
                    "fields": {"unwritten": waiting, "failures": failures, "error": error.message}
                },
            )
        if waiting >= self.max_held and not self._backlogged:
            self._backlog(True)
        return True

    def _backlog(self, full: bool) -> None:
        self._backlogged = full
        log.warning(
            "claims paused: attempts wait to be recorded" if full else "claims resumed",
            extra={"fields": {"unwritten": len(self._records) + len(self._unsent)}},
        )
        self._on_backlog(full)


def _storable(record: AttemptRecord) -> AttemptRecord:
    """``record`` with its texts as any database keeps them: PostgreSQL's text refuses
    NUL, and neither stores a lone surrogate."""
    return dataclasses.replace(
        record,
        response_body=_text(record.response_body),
        error=_text(record.error),
        reason=_text(record.reason),
        error_detail=_text(record.error_detail),
    )


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
