"""Group commit: calls that arrive together are written in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from pagewire.errors import StoreUnavailable

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommit(Generic[In, Out]):
    """Run calls that arrive together as one batch: one transaction instead of many.

    While a batch is being written, new calls queue; the next batch takes them all
    (up to ``max_batch``). A lone call is written at once, so nothing waits for a
    batch to fill. The batch runs in its own task: cancelling one caller never
    aborts the others' transaction. If a batch fails for another reason than the
    database being unavailable, its calls are retried one by one, so each caller
    gets its own outcome, as if it had been alone.
    """

    def __init__(
        self, run: Callable[[Sequence[In]], Awaitable[list[Out]]], max_batch: int = 256
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._queue: list[tuple[In, asyncio.Future[Out]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                await self._settle(batch)
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            except BaseException:
                # This task itself was cancelled (the event loop is closing).
                for _, future in (*batch, *self._queue):
                    future.cancel()
                self._queue.clear()
                raise

    async def _settle(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            outcomes = await self._run([item for item, _ in batch])
        except StoreUnavailable:
            raise
        except Exception:
            if len(batch) == 1:
                raise
            for one in batch:
                try:
                    await self._settle([one])
                except Exception as error:
                    if not one[1].done():
                        one[1].set_exception(error)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
