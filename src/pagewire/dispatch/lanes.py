"""Which claimed delivery is sent next: one lane per endpoint, capped and paced.

Pure scheduling: no I/O and no clock reads (the caller passes the time in).
Each endpoint's deliveries wait in its lane in claim order. A lane has at most
``per_endpoint`` requests in flight, and a rate-limited endpoint's lane spreads
them over the second with a token bucket. Lanes that can send wait in a ready
queue and are served round robin, so a slow or dead endpoint holds at most its
own cap of the senders and never delays the others.

What the scheduler cannot do itself it asks of its owner, through three
callbacks: ``on_ready()`` (a lane can send: wake an idle sender),
``on_throttled(lane, seconds)`` (the lane waits that long for its next token:
call :meth:`Lanes.unthrottle` then) and ``on_expired(delivery)`` (it waited past
the time its lease can cover a request: hand it back unsent).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from pagewire.kernel.token_bucket import TokenBucket
from pagewire.models import ClaimedDelivery


class Lane:
    """One endpoint's deliveries in this dispatcher: waiting in claim order, a few sending."""

    __slots__ = ("bucket", "cap", "endpoint_id", "queued", "sending", "throttled", "waiting")

    def __init__(self, endpoint_id: str, cap: int) -> None:
        self.endpoint_id = endpoint_id
        self.waiting: deque[ClaimedDelivery] = deque()
        self.sending = 0
        self.cap = cap
        self.bucket: TokenBucket | None = None
        self.queued = False  # in the ready queue
        self.throttled = False  # waiting for its rate limit's next token

    @property
    def held(self) -> int:
        return len(self.waiting) + self.sending

    def can_send(self) -> bool:
        return bool(self.waiting) and self.sending < self.cap


class Lanes:
    def __init__(
        self,
        per_endpoint: int,
        start_within: float,
        *,
        on_ready: Callable[[], None],
        on_throttled: Callable[[Lane, float], None],
        on_expired: Callable[[ClaimedDelivery], None],
    ) -> None:
        self.per_endpoint = per_endpoint
        self._lanes: dict[str, Lane] = {}
        self._ready: deque[Lane] = deque()  # lanes with a delivery to send and room
        # How long after its claim a delivery may still start (ClaimedDelivery.claimed_at).
        self.start_within = start_within
        self._now = 0.0  # the time as last passed in: the token buckets' clock
        self._on_ready = on_ready
        self._on_throttled = on_throttled
        self._on_expired = on_expired

    def held(self) -> dict[str, int]:
        """Deliveries held per endpoint (waiting or sending), for endpoints with any."""
        return {e: lane.held for e, lane in self._lanes.items() if lane.held}

    def add(self, delivery: ClaimedDelivery) -> None:
        """A claimed delivery joins the back of its endpoint's lane."""
        lane = self._lanes.get(delivery.endpoint_id)
        if lane is None:
            lane = self._lanes[delivery.endpoint_id] = Lane(delivery.endpoint_id, self.per_endpoint)
        rate = delivery.rate_limit
        if rate is None:
            lane.bucket = None
        elif lane.bucket is None or lane.bucket.rate != rate:
            # The endpoint's bucket in the database bounds what every dispatcher claims
            # together; this one spreads this dispatcher's share over the second, in
            # bursts of up to one second's worth.
            lane.bucket = TokenBucket(float(rate), burst=float(rate), clock=self._clock)
        lane.waiting.append(delivery)
        self._offer(lane)

    def next(self, now: float) -> tuple[Lane, ClaimedDelivery] | None:
        """The next delivery to send, round robin over the lanes that can send, and its
        lane (give it back to :meth:`finish` once answered); None when none can."""
        self._now = now
        ready = self._ready
        while ready:
            lane = ready.popleft()
            lane.queued = False
            waiting = lane.waiting
            while waiting and now - waiting[0].claimed_at > self.start_within:
                self._on_expired(waiting.popleft())
            if not lane.can_send():
                continue
            if lane.bucket is not None and (wait := lane.bucket.try_take()):
                # Rate limited: the lane waits for its token, no sender does.
                lane.throttled = True
                self._on_throttled(lane, wait)
                continue
            delivery = waiting.popleft()
            lane.sending += 1
            self._offer(lane)  # at the back of the queue, if it can send more
            return lane, delivery
        return None

    def finish(self, lane: Lane) -> None:
        """A request from ``lane`` ended: its slot is free again."""
        lane.sending -= 1
        if lane.held:
            self._offer(lane)
        elif lane.bucket is None and self._lanes.get(lane.endpoint_id) is lane:
            # Forgotten when empty; a rate-limited lane is kept for its bucket.
            del self._lanes[lane.endpoint_id]

    def unthrottle(self, lane: Lane) -> None:
        """The token ``on_throttled`` waited for is in."""
        lane.throttled = False
        self._offer(lane)

    def _offer(self, lane: Lane) -> None:
        """Queue a lane that can send, and ask for a sender for it."""
        if lane.throttled or not lane.can_send():
            return
        if not lane.queued:
            lane.queued = True
            self._ready.append(lane)
        self._on_ready()

    def _clock(self) -> float:
        return self._now
