"""A ``Sender`` that answers from a script per URL, and remembers what it was sent."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pagewire.dispatch.retry_policy import AttemptOutcome
from pagewire.models import ClaimedDelivery


@dataclass(frozen=True)
class Answer:
    """One attempt's answer: a status (and Retry-After), or ``error`` for no answer at
    all (a timeout, a refused connection). Held until ``until`` is set, if given: a
    receiver that takes its time, for as long as the test says."""

    status: int = 200
    retry_after: str | None = None
    error: str | None = None
    body: str = "ok"
    until: asyncio.Event | None = None


class FakeSender:
    """Answers each URL's attempts in the order :meth:`script` gave, then ``default``."""

    def __init__(self, default: Answer = Answer()) -> None:
        self.default = default
        self.scripts: defaultdict[str, list[Answer]] = defaultdict(list)
        self.sent: list[ClaimedDelivery] = []  # every attempt, in the order they started
        self.in_flight: Counter[str] = Counter()  # by URL
        self.most_in_flight: Counter[str] = Counter()  # by URL, the most at any one time
        self._changed = asyncio.Event()

    def script(self, url: str, *answers: Answer) -> None:
        self.scripts[url].extend(answers)

    def sent_to(self, url: str) -> list[ClaimedDelivery]:
        return [d for d in self.sent if d.url == url]

    async def send(self, delivery: ClaimedDelivery) -> AttemptOutcome:
        url = delivery.url
        answer = self.scripts[url].pop(0) if self.scripts[url] else self.default
        self.sent.append(delivery)
        self.in_flight[url] += 1
        self.most_in_flight[url] = max(self.most_in_flight[url], self.in_flight[url])
        self._note_change()
        try:
            if answer.until is not None:
                await answer.until.wait()
        finally:
            self.in_flight[url] -= 1
            self._note_change()
        if answer.error is not None:
            return AttemptOutcome(error=answer.error, latency=0.001)
        return AttemptOutcome(answer.status, None, answer.retry_after, 0.001, answer.body)

    async def wait_until(self, test: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Until ``test()`` is true (checked at each attempt's start and end); fails
        after ``timeout`` seconds, saying ``what`` it waited for."""

        async def until() -> None:
            while not test():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"never happened: {what}; sent {self.sent}") from None

    def _note_change(self) -> None:
        self._changed.set()
