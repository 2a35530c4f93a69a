"""The webhook dispatcher: claim due deliveries, sign, POST, record, reschedule.

Four stages, each handing the next the same objects, by plain method calls:

* the claim loop (:mod:`.claims`) leases due deliveries in big batches
  (:class:`ClaimedDelivery`) and adds each to its endpoint's lane;
* the lanes (:mod:`.lanes`, pure scheduling) say which delivery goes next: per
  endpoint a concurrency cap and an optional rate limit, round robin across
  endpoints, and a delivery that waited past what its lease can cover is handed
  back rather than sent;
* ``concurrency`` send loops here take deliveries from the lanes and make each
  attempt through a :class:`~.sender.Sender` (an :class:`AttemptOutcome`); the
  retry policy (:mod:`.retry_policy`) decides what comes next;
* the recorder (:mod:`.recorder`) writes the attempts and decisions
  (:class:`AttemptRecord`) in batches, and hands back what was not sent.

A fixed pool of send loops, not a task per delivery waiting on semaphores:
creating, scheduling and waking a task per request costs CPU that a pool sending
the same requests does not spend. Batching the claims and the
records is what lets one dispatcher keep up with a fast receiver.

Losing the process loses nothing: an unrecorded delivery's lease runs out and
it is sent again with the same ``webhook-id`` (at least once). On ``stop()`` it
claims and starts nothing more, lets requests in flight finish for
``drain_seconds``, hands back what it had not sent, and records everything it
learned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable

import aiohttp
from prometheus_client import CollectorRegistry

from pagewire.dispatch.claims import ClaimLoop
from pagewire.dispatch.lanes import Lane, Lanes
from pagewire.dispatch.metrics import DispatchMetrics
from pagewire.dispatch.recorder import Recorder, attempt_record
from pagewire.dispatch.retry_policy import AttemptOutcome, DeliveryRetryPolicy, parse_schedule
from pagewire.dispatch.sender import HttpSender, Sender
from pagewire.errors import PagewireError
from pagewire.kernel.aio import freeze_startup_objects
from pagewire.models import ClaimedDelivery
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.telemetry import traces

log = logging.getLogger("pagewire.dispatch")

BACKLOG_INTERVAL = 5.0


class Dispatcher:
    """``sender`` replaces the aiohttp sender (``session``: the aiohttp one's session);
    ``clock`` is the monotonic clock of ``ClaimedDelivery.claimed_at``, which the lease
    guard and the claim loop's timers go by."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        sender: Sender | None = None,
        session: aiohttp.ClientSession | None = None,
        policy: DeliveryRetryPolicy | None = None,
        registry: CollectorRegistry | None = None,
        concurrency: int | None = None,
        per_endpoint: int | None = None,
        dispatcher_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.policy = policy or DeliveryRetryPolicy(
            schedule=parse_schedule(settings.webhook_retry_schedule),
            max_retry_after=settings.webhook_max_retry_after_seconds,
            disable_after=settings.webhook_disable_after_seconds,
        )
        self.concurrency = concurrency or settings.webhook_concurrency
        per_endpoint = per_endpoint or settings.webhook_per_endpoint_concurrency
        lease_seconds = settings.webhook_lease_seconds
        timeout = settings.webhook_timeout_seconds
        if lease_seconds <= timeout:
            raise ValueError("webhook_lease_seconds must be longer than webhook_timeout_seconds")
        # A held delivery's request must end within its lease, or another dispatcher
        # may claim it meanwhile and send it twice: one that waited in its lane past
        # this is handed back unsent (a slow endpoint's deliveries wait in rounds).
        margin = min(1.0, (lease_seconds - timeout) / 2)
        start_within = lease_seconds - timeout - margin
        self.dispatcher_id = dispatcher_id or f"{socket.gethostname()}:{os.getpid()}"
        self.sender = sender
        self._session = session
        self._clock = clock
        self._stopping = asyncio.Event()
        self._idle: deque[asyncio.Future[None]] = deque()  # send loops waiting for work
        self.lanes = Lanes(
            per_endpoint,
            start_within,
            on_ready=self._wake_sender,
            on_throttled=self._throttled,
            on_expired=self._hand_back,
        )
        self.claims = ClaimLoop(
            store,
            self.lanes,
            concurrency=self.concurrency,
            lease_seconds=lease_seconds,
            poll_seconds=settings.poll_seconds,
            stopping=self._stopping,
            clock=clock,
        )
        self.recorder = Recorder(
            store.deliveries,
            batch=self.concurrency // 2,
            disable_failing_for=self.policy.disable_after,
            max_held=self.claims.hold_limit,
            closing_seconds=settings.drain_seconds,
            stopping=self._stopping,
            on_written=self.claims.written,
            on_backlog=self.claims.pause,
        )
        self.metrics = DispatchMetrics(registry) if registry is not None else None
        self._tracer = traces.tracer()  # None (traces off): no span is made
        if self.metrics is not None:
            held = self.claims.held
            self.metrics.in_flight.set_function(lambda: len(held))

    def stop(self) -> None:
        self._stopping.set()
        self.claims.poke()

    async def run(self) -> None:
        own_sender = None
        if self.sender is None:
            own_sender = self.sender = HttpSender(
                self.settings, limit=self.concurrency, session=self._session
            )
        log.info(
            "dispatcher started",
            extra={
                "fields": {"dispatcher_id": self.dispatcher_id, "concurrency": self.concurrency}
            },
        )
        freeze_startup_objects()
        senders = [
            asyncio.create_task(self._send_loop(), name="webhook-sender")
            for _ in range(self.concurrency)
        ]
        recorder = asyncio.create_task(self.recorder.run(), name="webhook-recorder")
        watcher = asyncio.create_task(self._backlog_loop(), name="webhook-backlog")
        try:
            await self.claims.run()
        finally:
            await self._drain(senders)
            await self.recorder.close(self.claims.take_held())
            await recorder
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            if own_sender is not None:
                await own_sender.close()
                self.sender = None
            log.info("dispatcher stopped", extra={"fields": {"dispatcher_id": self.dispatcher_id}})

    async def _drain(self, senders: list[asyncio.Task[None]]) -> None:
        """Let requests in flight finish for a while; stop the rest."""
        for waiter in self._idle:
            if not waiter.done():
                waiter.set_result(None)
        if senders:
            await asyncio.wait(senders, timeout=self.settings.drain_seconds)
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    # -- the send loops -----------------------------------------------------

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        lanes, claims, clock, stopping = self.lanes, self.claims, self._clock, self._stopping
        held = claims.held
        sender = self.sender
        assert sender is not None
        while not stopping.is_set():
            found = lanes.next(clock())
            if found is None:
                waiter = loop.create_future()
                self._idle.append(waiter)
                await waiter
                continue
            lane, delivery = found
            try:
                outcome = await sender.send(delivery)
            finally:
                lanes.finish(lane)
            # Answered: from here on the delivery is recorded, never handed back.
            held.pop(delivery.id, None)
            try:
                self._answered(delivery, outcome)
            except Exception:
                # A fault in the bookkeeping must not cost a sender; the delivery's
                # lease runs out and it is sent again.
                log.exception(
                    "recording an attempt crashed", extra={"fields": {"delivery_id": delivery.id}}
                )
            if claims.more_due and claims.room():
                claims.poke()

    def _answered(self, delivery: ClaimedDelivery, outcome: AttemptOutcome) -> None:
        """The policy's decision on an attempt, to the metrics, the log and the recorder."""
        now = time.time()
        decision = self.policy.decide(delivery.attempt, outcome, now)
        record = attempt_record(delivery, outcome, decision, now)
        if self.metrics:
            self.metrics.attempts.labels(record.verdict).inc()
            self.metrics.latency.observe(outcome.latency)
        if self._tracer is not None:
            from pagewire.telemetry.spans import attempt_span

            attempt_span(
                self._tracer,
                delivery,
                status_code=outcome.status_code,
                error=outcome.error,
                latency=outcome.latency,
                verdict=record.verdict,
            )
        if record.verdict != "succeeded":
            log.info(
                "webhook attempt failed",
                extra={
                    "fields": {
                        "delivery_id": delivery.id,
                        "webhook_id": delivery.event_id,
                        "endpoint_id": delivery.endpoint_id,
                        "attempt": delivery.attempt,
                        "outcome": outcome.describe(),
                        "next": record.verdict,
                    }
                },
            )
        self.recorder.add(record)

    def _wake_sender(self) -> None:
        """Wake one idle send loop, if any (a lane can send)."""
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _throttled(self, lane: Lane, seconds: float) -> None:
        asyncio.get_running_loop().call_later(seconds, self.lanes.unthrottle, lane)

    def _hand_back(self, delivery: ClaimedDelivery) -> None:
        """A delivery whose lease can no longer cover a request: no longer held, the
        recorder gives it back (due again at once, the attempt not counted)."""
        self.claims.held.pop(delivery.id, None)
        self.recorder.hand_back(delivery)

    async def _backlog_loop(self) -> None:
        if self.metrics is None:
            return
        while True:
            with contextlib.suppress(PagewireError):
                self.metrics.observe_backlog(await self.store.deliveries.backlog())
            await asyncio.sleep(BACKLOG_INTERVAL)
