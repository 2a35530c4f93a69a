"""The claim loop: lease due deliveries in big batches and put each in its lane.

A claim leases deliveries for ``lease_seconds`` (judged by the database's
clock), at most a few rounds of each endpoint's cap, and what this dispatcher
already holds counts against that. The loop holds up to ``HOLD_ROUNDS`` times
``concurrency`` deliveries (claimed, not yet answered: :attr:`ClaimLoop.held`),
and with a backlog claims again once a round's worth has room: big claims,
started early enough that the senders never wait for one.

Between claims it sleeps on one future that whatever may give it work resolves
(:meth:`ClaimLoop.poke`: room to claim, a batch recorded, a notification from
the database, stop) or its own timer: the poll, the soonest retry this
dispatcher scheduled, or a rate-limited endpoint's next token.

While the recorder cannot write what was sent (the database fails it) and too
much waits, it pauses the claims (:meth:`ClaimLoop.pause`): nothing more is
sent until the attempts already made are logged. A claim that fails waits out
the poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from pagewire.dispatch.lanes import Lanes
from pagewire.errors import PagewireError
from pagewire.models import AttemptRecord, ClaimedDelivery
from pagewire.store import Store

log = logging.getLogger("pagewire.dispatch")

# Under load a claim takes its statement plus one or two turns of the event loop,
# each turn the senders' callbacks for dozens of responses, whatever the claim's
# size. Holding four rounds of the senders' work, a claim starts while two rounds
# still wait behind the requests in flight. Holding two, the senders ran dry during
# each claim and the dispatcher sat idle (docs/performance.md, "Design notes").
HOLD_ROUNDS = 4
RATE_LIMIT_RECLAIM_SECONDS = 0.1


class ClaimLoop:
    def __init__(
        self,
        store: Store,
        lanes: Lanes,
        *,
        concurrency: int,
        lease_seconds: float,
        poll_seconds: float,
        stopping: asyncio.Event,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.lanes = lanes
        self.concurrency = concurrency
        # The most this dispatcher holds, in all and of one endpoint's deliveries.
        self.hold_limit = HOLD_ROUNDS * concurrency
        self.endpoint_limit = HOLD_ROUNDS * lanes.per_endpoint
        self.held: dict[str, ClaimedDelivery] = {}  # claimed, not yet answered or handed back
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.clock = clock  # monotonic seconds, the clock of ClaimedDelivery.claimed_at
        self.more_due = False
        self.paused = False  # the recorder is behind: claim nothing until it catches up
        self._stopping = stopping
        # Waking up takes one event-loop turn this way; waiting on several tasks at
        # once cost the loop several turns, each milliseconds long under load, while
        # the senders ran dry.
        self._sleeper: asyncio.Future[None] | None = None
        self._poked = False
        # When the loop must come back on its own (monotonic): the soonest retry this
        # dispatcher scheduled, or a rate-limited endpoint's next token.
        self._claim_by = float("inf")

    def poke(self) -> None:
        """Wake the claim loop (or, if it is busy, have its next sleep return at once)."""
        sleeper = self._sleeper
        if sleeper is None:
            self._poked = True
        elif not sleeper.done():
            sleeper.set_result(None)

    def pause(self, paused: bool) -> None:
        """Claim nothing while ``paused`` (attempts wait to be recorded); then go on."""
        self.paused = paused
        if not paused:
            self.poke()

    def room(self) -> bool:
        """Room for a claim: with a backlog, a whole round's worth, to claim at once."""
        if self.paused:
            return False
        threshold = self.concurrency if self.more_due else 1
        return self.hold_limit - len(self.held) >= threshold

    def take_held(self) -> list[ClaimedDelivery]:
        """Everything held, to hand back (the senders are done)."""
        held = list(self.held.values())
        self.held.clear()
        return held

    def written(self, records: Sequence[AttemptRecord]) -> None:
        """The database knows of these attempts now: a retry to wake up for, and a
        finished delivery may have released the next event of its job."""
        written = self.clock()
        for record in records:
            if record.verdict == "retry":
                self._claim_by = min(self._claim_by, written + (record.retry_in or 0.0))
        self.poke()

    async def run(self) -> None:
        """Claim until stopped."""
        unsubscribe = self.store.db.on_wake("pagewire_deliveries", self.poke)
        try:
            while not self._stopping.is_set():
                if self.room():
                    if not await self._claim():
                        # Back off for the whole poll, whatever finishes meanwhile: only
                        # stop() cuts it short.
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)
                        continue
                    if self.more_due:
                        continue
                await self._sleep(self._wait_seconds())
        finally:
            unsubscribe()

    async def _claim(self) -> bool:
        """One claim into the lanes; False when it failed."""
        free = self.hold_limit - len(self.held)
        self._poked = False
        if self._claim_by <= self.clock():
            self._claim_by = float("inf")
        try:
            claimed = await self.store.deliveries.claim_deliveries(
                free,
                lease_seconds=self.lease_seconds,
                per_endpoint=self.endpoint_limit,
                held=self.lanes.held(),
            )
        except Exception as error:
            if not isinstance(error, PagewireError):
                log.exception("claim crashed")
            log.warning("claim failed", extra={"fields": {"error": str(error)}})
            return False
        held, add = self.held, self.lanes.add
        for delivery in claimed:
            held[delivery.id] = delivery
            add(delivery)
        self._claim_again_for_rate_limits(claimed)
        # A claim cut short by per-endpoint shares (a slow endpoint at its cap) still
        # means a backlog: keep claiming in batches.
        self.more_due = len(claimed) >= max(1, free // 2)
        return True

    def _claim_again_for_rate_limits(self, claimed: list[ClaimedDelivery]) -> None:
        """A rate-limited endpoint got what its bucket held and may have more due:
        claim again once its next token is in (at most ten times a second). Its bucket
        refills all the time; the poll alone sent its rate in one-second steps."""
        fastest = max((d.rate_limit or 0 for d in claimed), default=0)
        if fastest:
            again = self.clock() + max(RATE_LIMIT_RECLAIM_SECONDS, 1.0 / fastest)
            self._claim_by = min(self._claim_by, again)

    def _wait_seconds(self) -> float:
        until_due = self._claim_by - self.clock()
        return max(0.0, min(self.poll_seconds, until_due))

    async def _sleep(self, seconds: float) -> None:
        """Until poked, or for ``seconds``."""
        if self._poked or self._stopping.is_set():
            self._poked = False
            return
        loop = asyncio.get_running_loop()
        self._sleeper = sleeper = loop.create_future()
        timer = loop.call_later(seconds, self.poke)
        try:
            await sleeper
        finally:
            timer.cancel()
            self._sleeper = None
