"""The lane scheduler alone: caps, turns, rate pacing and the lease guard, time passed in."""

from __future__ import annotations

from types import MappingProxyType

from pagewire.dispatch.lanes import Lane, Lanes
from pagewire.models import ClaimedDelivery


def claimed(
    endpoint_id: str, number: int, *, claimed_at: float = 100.0, rate_limit: int | None = None
) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=f"{endpoint_id}{number}",
        lease_token="t",
        event_id=f"msg_{endpoint_id}{number}",
        event_type="job.completed",
        endpoint_id=endpoint_id,
        org_id="org",
        job_id=None,
        sequence=0,
        attempt=1,
        url=f"https://{endpoint_id}.example/hook",
        headers=MappingProxyType({}),
        secrets=("whsec_x",),
        rate_limit=rate_limit,
        body=b"{}",
        event_created_at=0.0,
        claimed_at=claimed_at,
    )


class Owner:
    """What the lanes ask of the dispatcher, written down."""

    def __init__(self, per_endpoint: int = 2, start_within: float = 10.0) -> None:
        self.throttled: list[tuple[Lane, float]] = []
        self.expired: list[str] = []
        self.wakeups = 0
        self.lanes = Lanes(
            per_endpoint,
            start_within,
            on_ready=self.wake,
            on_throttled=lambda lane, seconds: self.throttled.append((lane, seconds)),
            on_expired=lambda delivery: self.expired.append(delivery.id),
        )
        self.sending: list[tuple[Lane, ClaimedDelivery]] = []

    def wake(self) -> None:
        self.wakeups += 1

    def take_all(self, now: float = 101.0) -> list[str]:
        """Start every delivery the lanes let go now (none answered meanwhile)."""
        taken = []
        while (found := self.lanes.next(now)) is not None:
            self.sending.append(found)
            taken.append(found[1].id)
        return taken

    def answer(self, delivery_id: str) -> None:
        [(lane, _)] = [(lane, d) for lane, d in self.sending if d.id == delivery_id]
        self.sending = [(lane, d) for lane, d in self.sending if d.id != delivery_id]
        self.lanes.finish(lane)


def test_an_endpoint_never_has_more_than_its_cap_sending_and_the_next_waits_for_a_slot() -> None:
    owner = Owner(per_endpoint=2)
    for n in range(1, 6):
        owner.lanes.add(claimed("a", n))
    owner.lanes.add(claimed("b", 1))

    assert owner.take_all() == ["a1", "b1", "a2"]  # then a is at its cap, b has no more
    assert owner.lanes.held() == {"a": 5, "b": 1}  # what a claim counts as already held
    owner.answer("a1")
    assert owner.take_all() == ["a3"]
    owner.answer("b1")
    assert owner.take_all() == []
    assert owner.lanes.held() == {"a": 4}


def test_endpoints_take_turns_and_each_sends_in_claim_order() -> None:
    owner = Owner(per_endpoint=3)
    for endpoint_id in "abc":
        for n in range(1, 4):
            owner.lanes.add(claimed(endpoint_id, n))

    assert owner.take_all() == ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"]


def test_a_sender_is_asked_for_whenever_a_lane_can_send() -> None:
    owner = Owner(per_endpoint=1)
    owner.lanes.add(claimed("a", 1))
    owner.lanes.add(claimed("a", 2))
    asked = owner.wakeups
    assert asked >= 1
    assert owner.take_all() == ["a1"]
    asked = owner.wakeups
    owner.answer("a1")  # a slot is free and a2 waits for it
    assert owner.wakeups == asked + 1
    assert owner.take_all() == ["a2"]


def test_a_rate_limited_endpoint_waits_for_its_token_without_holding_back_the_others() -> None:
    owner = Owner(per_endpoint=10)
    for n in range(1, 5):
        owner.lanes.add(claimed("a", n, rate_limit=2))
    owner.lanes.add(claimed("b", 1))
    owner.lanes.add(claimed("b", 2))

    # A burst of one second's worth (2), the other endpoint served meanwhile.
    assert owner.take_all(now=101.0) == ["a1", "b1", "a2", "b2"]
    [(lane, seconds)] = owner.throttled
    assert lane.endpoint_id == "a" and seconds == 0.5  # 2 a second: the next in half a second
    assert owner.take_all(now=101.2) == []  # still waiting: no sender spent on it

    owner.lanes.unthrottle(lane)  # its timer, half a second later
    assert owner.take_all(now=101.5) == ["a3"]
    assert owner.throttled[-1][1] == 0.5  # and a4 half a second after that


def test_a_delivery_that_waited_past_what_its_lease_covers_is_handed_back_not_sent() -> None:
    owner = Owner(per_endpoint=1, start_within=5.0)
    owner.lanes.add(claimed("a", 1, claimed_at=100.0))
    owner.lanes.add(claimed("a", 2, claimed_at=100.0))
    owner.lanes.add(claimed("a", 3, claimed_at=103.0))
    assert owner.take_all(now=101.0) == ["a1"]

    owner.answer("a1")  # a slow request: answered 5.5 s after the claim
    assert owner.take_all(now=105.5) == ["a3"]
    assert owner.expired == ["a2"]
    owner.answer("a3")
    assert owner.lanes.held() == {}
